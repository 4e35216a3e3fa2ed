// Turnout built in-process from dist/ with the split configuration of `turnout-split` (10%
// sticky-cookie split, overrides on), with or without per-request recording: what recording
// costs, measured by bench/recording.ts.
// Usage: node bench/contenders/turnout-app.ts <blue-url> <green-url> [--no-record]; prints `LISTENING <port>`.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT_DIR } from '../lib/procs.ts';

const [blue, green, flag] = process.argv.slice(2);
if (!blue || !green) throw new Error('usage: turnout-app.ts <blue-url> <green-url> [--no-record]');
const dist = (file: string) => pathToFileURL(path.join(ROOT_DIR, 'dist', file)).href;
const { parseConfig } = (await import(dist('config/load.js'))) as typeof import('../../src/config/load.ts');
const { buildApp } = (await import(dist('app.js'))) as typeof import('../../src/app.ts');

const config = parseConfig(
  {
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0, token: 'bench-recording-token-0123' },
    upstreams: { blue: { targets: [blue] }, green: { targets: [green] } },
    routing: { active: 'blue', canaryWeight: 10, sticky: { by: 'cookie' }, override: { enabled: true } },
    state: { store: 'memory' },
  },
  'bench',
);
const app = await buildApp(config, { logger: false, record: flag !== '--no-record' });
const urls = await app.listen();
process.stdout.write(`LISTENING ${new URL(urls.proxy).port}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
