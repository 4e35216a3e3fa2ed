#!/usr/bin/env node
// `node dist/demo/upstream-main.js <colour> [port] [host]`: one demo upstream, for docker-compose.
import { startDemoUpstream } from './upstream.ts';

const [colour = 'blue', port = '3000', host = '0.0.0.0'] = process.argv.slice(2);
const upstream = await startDemoUpstream(colour, process.env.DEMO_VERSION ?? `${colour}-1.0.0`, Number(port), host);
process.stdout.write(`demo ${colour} upstream on ${upstream.url}\n`);
const stop = () => void upstream.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
