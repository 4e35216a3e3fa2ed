// The whole app with a TLS (h2 + HTTP/1.1) proxy listener in its own process, so a test can
// measure its memory alone:
//   node test/helpers/tls-app-child.ts <upstream-url> <cert.pem> <key.pem>  → prints {"proxy": URL}
import { parseConfig } from '../../src/config/load.ts';
import { buildApp } from '../../src/app.ts';
import { TEST_TOKEN } from './app.ts';

const [upstream, cert, key] = process.argv.slice(2) as [string, string, string];
const config = parseConfig(
  {
    listen: { host: '127.0.0.1', port: 0, tls: { cert, key } },
    admin: { host: '127.0.0.1', port: 0, token: TEST_TOKEN },
    state: { store: 'memory' },
    upstreams: { blue: { targets: [upstream] }, green: { targets: [upstream] } },
  },
  'child',
);
const app = await buildApp(config, { logger: false, background: false });
const urls = await app.listen();
process.stdout.write(JSON.stringify(urls) + '\n');
