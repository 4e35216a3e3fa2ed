// `npm start`: a demo blue and green upstream in-process, the proxy on :8080, the preview on
// :8081, the admin API and dashboard on 127.0.0.1:9901, state in ./data/. Prints the URLs and
// the admin token (TURNOUT_ADMIN_TOKEN if set, else a fresh random one).
import { randomBytes } from 'node:crypto';
import { parseConfig } from './config/load.ts';
import { startDemoUpstream } from './demo/upstream.ts';
import { startApp } from './server.ts';

const token = process.env.TURNOUT_ADMIN_TOKEN ?? randomBytes(18).toString('base64url');
const blue = await startDemoUpstream('blue', 'blue-1.0.0', Number(process.env.DEMO_BLUE_PORT ?? 3001));
const green = await startDemoUpstream('green', 'green-2.0.0', Number(process.env.DEMO_GREEN_PORT ?? 3002));

const config = parseConfig(
  {
    listen: { host: '0.0.0.0', port: Number(process.env.PORT ?? 8080) },
    preview: { host: '0.0.0.0', port: Number(process.env.PREVIEW_PORT ?? 8081) },
    admin: { host: '127.0.0.1', port: Number(process.env.ADMIN_PORT ?? 9901), token },
    upstreams: { blue: { targets: [blue.url] }, green: { targets: [green.url] } },
    state: { store: 'file', path: process.env.TURNOUT_STATE ?? './data/state.json' },
  },
  'demo',
);

const { app, listenResult } = await startApp(config);
const a = await listenResult;
const s = app.state.snapshot;
// Listening on 0.0.0.0; show the address a newcomer can paste.
const local = (url: string | null) => url?.replace('0.0.0.0', '127.0.0.1') ?? '';
const proxy = local(a.proxy);
process.stdout.write(`
Turnout demo
  proxy      ${proxy}        (active: ${s.active}, canary ${s.canary} at ${s.weight}%)
  preview    ${local(a.preview)}        (always the idle colour)
  dashboard  ${a.admin}/
  metrics    ${a.admin}/metrics
  upstreams  blue ${blue.url}, green ${green.url}  (POST /fail?rate=0.3 or /slow?ms=300 to misbehave)

  admin token: ${token}
  export TURNOUT_ADMIN_TOKEN=${token}

Try:
  curl -s ${proxy}/hello
  curl -s -H 'x-turnout-colour: green' ${proxy}/hello
  npx turnout weight 10 && npx turnout flip && npx turnout rollback && npx turnout events
`);
