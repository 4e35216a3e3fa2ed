// CONTRACT §7, lifecycle, with real processes: a spare or replacement that cannot start, a
// worker that cannot start at all, the control plane killed, SIGTERM's drain.
import t from 'tap';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { makeCertificate } from '../helpers/tls.ts';
import { requireTool } from '../helpers/tools.ts';
import { waitFor } from '../helpers/wait.ts';
import { adminJson, serveWorkers, upstreams } from './harness.ts';

t.test('a spare or a replacement that cannot start is logged and retried while the other worker serves', async (t) => {
  if (requireTool(t, 'openssl') === undefined) return;
  const up = await upstreams(t);
  // Not t.testdir(): serveWorkers makes that one afresh.
  const dir = mkdtempSync(join(tmpdir(), 'turnout-workers-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cert = makeCertificate(dir, 'edge');
  const turnout = await serveWorkers(t, [...up.lines, 'workers: 2', 'healthCheck: { intervalMs: 60000 }', `listen: { host: 127.0.0.1, port: 0, tls: { cert: "${cert.cert}", key: "${cert.key}" } }`]);
  const agent = new Agent({ connect: { rejectUnauthorized: false } });
  t.teardown(() => agent.close());
  const served = async (n: number) => {
    let ok = 0;
    for (let i = 0; i < n; i++) {
      const res = await request(`${turnout.proxy}/c`, { dispatcher: agent, reset: true });
      await res.body.dump();
      if (res.statusCode === 200) ok++;
    }
    return ok;
  };
  await waitFor(() => turnout.spares().size === 1, 'the warm spare', 20_000);
  // Each worker reads the certificate files itself: without them no new worker can start.
  renameSync(cert.key, `${cert.key}.away`);
  process.kill([...turnout.spares().values()][0]!, 'SIGKILL');
  await waitFor(() => /spare w\d+ could not start: config: invalid TLS certificates\\n {2}listen\.tls\.key: [^"]*cannot be read \(ENOENT\); retrying in 1000 ms/.test(turnout.output()), 'the next spare to fail, saying why', 20_000);
  const [victimId, victim] = [...turnout.serving()][0]!;
  const [survivorId, survivor] = [...turnout.serving()][1]!;
  process.kill(victim, 'SIGKILL');
  await waitFor(() => /worker w\d+ could not start: config: invalid TLS certificates\\n {2}listen\.tls\.key/.test(turnout.output()), 'the replacement to fail, saying why', 20_000);
  t.equal(await served(20), 20, 'the other worker serves meanwhile');
  t.same([...turnout.serving()], [[survivorId, survivor]], 'one worker serving');
  t.match(turnout.output(), new RegExp(`worker ${victimId} died \\(signal SIGKILL\\)`));
  renameSync(`${cert.key}.away`, cert.key);
  await waitFor(() => turnout.serving().size === 2 && turnout.spares().size === 1, 'a replacement and a spare, once the files are back', 30_000);
  t.equal(await served(20), 20, 'both serve again');
});

t.test('the control plane killed: every worker and the spare exit (no orphans)', async (t) => {
  const up = await upstreams(t);
  const turnout = await serveWorkers(t, [...up.lines, 'workers: 2', 'healthCheck: { intervalMs: 60000 }']);
  await waitFor(() => turnout.spares().size === 1, 'the warm spare', 20_000);
  const pids = turnout.workers();
  t.equal(pids.length, 3);
  turnout.child.kill('SIGKILL');
  await turnout.exited();
  // Gone, or a zombie waiting for whoever adopted it to reap it.
  const alive = (pid: number) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch {
      return false;
    }
  };
  await waitFor(() => pids.every((p) => !alive(p)), 'the workers and the spare to exit', 20_000);
  t.pass('none left');
});

t.test('SIGTERM drains every worker: in-flight requests finish, state persists, exit 0', async (t) => {
  const up = await upstreams(t);
  let release: () => void = () => {};
  let held = 0;
  up.blue.handle((req, res) => {
    if (req.url === '/healthz') return res.end('ok');
    held++;
    const finish = release;
    release = () => {
      finish();
      res.end('finished');
    };
  });
  const dir = t.testdir();
  const statePath = join(dir, 'state.json');
  // A drain bound far beyond the test's steps: on a busy machine reaching release() took over 5 s,
  // and the bound cut the held requests. This test is about finishing them, not about the bound.
  const turnout = await serveWorkers(t, [...up.lines, 'workers: 2', 'healthCheck: { intervalMs: 60000 }', 'shutdown: { drainSeconds: 60 }', `state: { store: file, path: "${statePath}" }`]);
  t.equal((await adminJson(turnout, 'PUT', '/api/v1/canary', { weight: 7 })).status, 200);
  await waitFor(() => turnout.spares().size === 1, 'the warm spare (drained too)', 20_000);
  // Several connections, so that both workers hold requests.
  const agent = new Agent({ connections: 8, pipelining: 1 });
  t.teardown(() => agent.close());
  const inFlight = Array.from({ length: 8 }, () =>
    request(`${turnout.proxy}/slow`, { dispatcher: agent, headers: { 'x-turnout-colour': 'blue' } }).then(async (r) => ({ status: r.statusCode, body: await r.body.text() })),
  );
  await waitFor(() => held === 8, 'eight requests held at blue');
  turnout.child.kill('SIGTERM');
  await waitFor(() => /SIGTERM: draining/.test(turnout.output()), 'the drain to begin');
  // New connections are refused while draining.
  await waitFor(
    () => request(`${turnout.proxy}/new`, { reset: true }).then(() => false, () => true),
    'the listener to close',
  );
  release();
  const answers = await Promise.all(inFlight);
  t.same(answers.map((a) => a.status), Array(8).fill(200), 'every in-flight request finished with 200');
  t.equal(await turnout.exited(), 0, 'exit 0');
  const persisted = JSON.parse(readFileSync(statePath, 'utf8')) as { state: { weight: number } };
  t.equal(persisted.state.weight, 7, 'state persisted');
  t.same(turnout.workers(), [], 'no worker left behind');
});

t.test('a worker that cannot start is a clear error and nothing keeps running', async (t) => {
  const up = await upstreams(t);
  // Someone else holds the port without SO_REUSEPORT: no worker can bind it.
  const squatter = createServer();
  await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
  t.teardown(() => squatter.close());
  const port = (squatter.address() as { port: number }).port;
  const turnout = serveWorkers(t, [...up.lines, `listen: { host: 127.0.0.1, port: ${port} }`, 'workers: 2']);
  await t.rejects(turnout, /exited before listening[\s\S]*worker w\d could not start: listen EADDRINUSE/);
});
