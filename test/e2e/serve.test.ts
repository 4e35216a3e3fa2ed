// `turnout serve --config FILE` as a real process: config errors before listening, state that
// wins over the config's seed, a refusal on an unreadable state file, and a graceful drain.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { request } from 'undici';
import { startUpstream } from '../helpers/upstream.ts';
import { ensureBuilt } from '../helpers/build.ts';
import { waitFor } from '../helpers/wait.ts';

const TOKEN = 'serve-test-token-0123456789';
const node = process.execPath;

t.before(ensureBuilt);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function serve(configPath: string): ChildProcess & { output: () => string } {
  const child = spawn(node, ['dist/cli.js', 'serve', '--config', configPath], { env: { ...process.env, TURNOUT_ADMIN_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return Object.assign(child, { output: () => out });
}

const exited = (child: ChildProcess) => new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));

t.test('an invalid config exits non-zero before listening, naming file and field', async (t) => {
  const dir = t.testdir();
  const port = await freePort();
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, `listen: { host: 127.0.0.1, port: ${port} }\nadmin: { token: "\${TURNOUT_ADMIN_TOKEN}" }\nupstreams:\n  blue: { targets: ["http://127.0.0.1:1"] }\n  green: { targets: ["ftp://nope"] }\n`);
  const child = serve(file);
  const code = await exited(child);
  t.not(code, 0);
  t.match(child.output(), file);
  t.match(child.output(), 'upstreams.green.targets[0]');
  // Nothing ever listened on the port.
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(port, '127.0.0.1', resolve));
  probe.close();
});

t.test('serve: persisted state wins over the seed; SIGTERM drains in-flight requests and exits 0', async (t) => {
  const dir = t.testdir();
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  let release: () => void = () => {};
  green.handle((req, res) => {
    if (req.url === '/healthz') return res.end('ok');
    // Held until the test lets it go, to be in flight when SIGTERM arrives.
    release = () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('green finished');
    };
  });
  const [proxyPort, adminPort] = [await freePort(), await freePort()];
  const statePath = join(dir, 'state.json');
  const file = join(dir, 'turnout.yaml');
  writeFileSync(file, [
    `listen: { host: 127.0.0.1, port: ${proxyPort} }`,
    `admin: { host: 127.0.0.1, port: ${adminPort}, token: "\${TURNOUT_ADMIN_TOKEN}" }`,
    `upstreams: { blue: { targets: ["${blue.url}"] }, green: { targets: ["${green.url}"] } }`,
    `routing: { active: blue, canaryWeight: 0 }`,
    `healthCheck: { intervalMs: 60000 }`,
    `shutdown: { drainSeconds: 5 }`,
    `state: { store: file, path: "${statePath}" }`,
  ].join('\n'));
  const admin = `http://127.0.0.1:${adminPort}`;
  const auth = { authorization: `Bearer ${TOKEN}` };

  let child = serve(file);
  t.teardown(() => child.kill('SIGKILL'));
  await waitFor(async () => (await fetch(`${admin}/healthz`).catch(() => null))?.ok === true, 'serve to listen', 10_000);
  const flip = await fetch(`${admin}/api/v1/flip`, { method: 'POST', headers: auth });
  t.equal(flip.status, 200);
  child.kill('SIGTERM');
  t.equal(await exited(child), 0, 'clean exit');

  // Restart: the state file (green active) wins over routing.active: blue.
  child = serve(file);
  await waitFor(async () => (await fetch(`${admin}/readyz`).catch(() => null))?.ok === true, 'restart to be ready', 10_000);
  const state = (await (await fetch(`${admin}/api/v1/state`, { headers: auth })).json()) as { active: string };
  t.equal(state.active, 'green', 'persisted state won');

  // A request in flight on green when SIGTERM arrives still completes.
  const inFlight = request(`http://127.0.0.1:${proxyPort}/slow`);
  await waitFor(() => green.seen.some((r) => r.url === '/slow'), 'green to receive the request', 10_000);
  child.kill('SIGTERM');
  await waitFor(async () => (await fetch(`${admin}/readyz`).catch(() => null))?.status !== 200, 'readyz to stop answering 200', 3000);
  release();
  const res = await inFlight;
  t.equal(res.statusCode, 200);
  t.equal(await res.body.text(), 'green finished');
  t.equal(await exited(child), 0, 'exit 0 after the drain');
  const persisted = JSON.parse(readFileSync(statePath, 'utf8')) as Record<string, unknown>;
  t.match(JSON.stringify(persisted), '"green"');
});

t.test('an unreadable state file makes serve refuse to start, naming the file', async (t) => {
  const dir = t.testdir();
  const statePath = join(dir, 'state.json');
  writeFileSync(statePath, '{ this is not json');
  const file = join(dir, 'turnout.yaml');
  writeFileSync(file, [
    `listen: { host: 127.0.0.1, port: ${await freePort()} }`,
    `admin: { host: 127.0.0.1, port: ${await freePort()}, token: "\${TURNOUT_ADMIN_TOKEN}" }`,
    `upstreams: { blue: { targets: ["http://127.0.0.1:1"] }, green: { targets: ["http://127.0.0.1:2"] } }`,
    `state: { store: file, path: "${statePath}" }`,
  ].join('\n'));
  const child = serve(file);
  t.not(await exited(child), 0);
  t.match(child.output(), statePath);
  t.equal(readFileSync(statePath, 'utf8'), '{ this is not json', 'the broken file is left for a person to look at');
});
