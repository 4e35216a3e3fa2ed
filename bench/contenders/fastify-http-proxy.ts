// What the named stack gives out of the box: fastify + @fastify/http-proxy, defaults only.
// Usage: node bench/contenders/fastify-http-proxy.ts <origin-url>; prints `LISTENING <port>`.
import Fastify from 'fastify';
import proxy from '@fastify/http-proxy';

const origin = process.argv[2];
if (!origin) throw new Error('usage: fastify-http-proxy.ts <origin-url>');
const app = Fastify({ logger: false });
await app.register(proxy, { upstream: origin });
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`LISTENING ${typeof address === 'object' && address ? address.port : 0}\n`);
process.on('SIGTERM', () => process.exit(0));
