// Turnout built in-process from dist/ with shadow comparison at a given percent (CONTRACT §9):
// all traffic on blue, mirrored to green; `absent`: the data plane without the shadow hook at
// all (what Turnout costs without shadowing). Measured by bench/shadow.ts.
// Usage: node bench/contenders/turnout-shadow-app.ts <blue-url> <green-url> <percent|absent>;
// prints `LISTENING <port> <admin-url>`.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT_DIR } from '../lib/procs.ts';

const [blue, green, percent] = process.argv.slice(2);
if (!blue || !green || percent === undefined) throw new Error('usage: turnout-shadow-app.ts <blue-url> <green-url> <percent|absent>');
const absent = percent === 'absent';
const dist = (file: string) => pathToFileURL(path.join(ROOT_DIR, 'dist', file)).href;
const { parseConfig } = (await import(dist('config/load.js'))) as typeof import('../../src/config/load.ts');
const { buildApp } = (await import(dist('app.js'))) as typeof import('../../src/app.ts');

const config = parseConfig(
  {
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0, token: 'bench-shadow-token-0123456' },
    upstreams: { blue: { targets: [blue] }, green: { targets: [green] } },
    routing: { active: 'blue', canaryWeight: 0 },
    state: { store: 'memory' },
    shadow: { percent: absent ? 0 : Number(percent) },
  },
  'bench',
);
const app = await buildApp(config, { logger: false, background: false, ...(absent ? { shadow: false } : {}) });
const urls = await app.listen();
process.stdout.write(`LISTENING ${new URL(urls.proxy).port} ${urls.admin}\n`);
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
