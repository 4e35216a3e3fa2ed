// Turnout built in-process from dist/ with the split configuration of `turnout-split` (10%
// sticky-cookie split, overrides on), with or without per-request recording: what recording
// costs, measured by bench/recording.ts; or with the access log on or off (`--log FILE`: a pino
// logger as `serve` makes it, writing to FILE instead of stdout; `--access`: log.access on),
// measured by bench/access-log.ts.
// Usage: node bench/contenders/turnout-app.ts <blue-url> <green-url> [--no-record] [--log FILE [--access]]; prints `LISTENING <port>`.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT_DIR } from '../lib/procs.ts';

const [blue, green, ...flags] = process.argv.slice(2);
if (!blue || !green) throw new Error('usage: turnout-app.ts <blue-url> <green-url> [--no-record] [--log FILE [--access]]');
const logFile = flags.includes('--log') ? flags[flags.indexOf('--log') + 1] : undefined;
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
    log: { access: flags.includes('--access') },
  },
  'bench',
);
// With --log, the logger `serve` makes (buildApp's default), writing to the file instead of stdout.
const app = await buildApp(config, { ...(logFile === undefined ? { logger: false as const } : { logDestination: logFile }), record: !flags.includes('--no-record') });
const urls = await app.listen();
process.stdout.write(`LISTENING ${new URL(urls.proxy).port}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
