// CONTRACT §7 with real processes: `turnout serve` with workers, its forked data planes sharing
// the proxy listener, the admin API on the control plane. Each test asserts what the clients got,
// what the upstreams saw, and what the control plane counted.
import t from 'tap';
import { availableParallelism } from 'node:os';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startUpstream } from '../helpers/upstream.ts';
import { makeCertificate } from '../helpers/tls.ts';
import { requireTool } from '../helpers/tools.ts';
import { waitFor } from '../helpers/wait.ts';
import { adminJson, cpuTicks, metricsText, requestsTotal, serveWorkers, type Turnout, type UpstreamsBody } from './harness.ts';

async function upstreams(t: Parameters<typeof startUpstream>[0]) {
  const blue = await startUpstream(t, 'blue', { keepBody: false });
  const green = await startUpstream(t, 'green', { keepBody: false });
  return { blue, green, lines: [`upstreams: { blue: { targets: ["${blue.url}"] }, green: { targets: ["${green.url}"] } }`] };
}

/** `total` GETs over `connections` keep-alive connections; returns the status of each. */
async function load(turnout: Turnout, total: number, connections: number): Promise<number[]> {
  const agent = new Agent({ connections, pipelining: 1 });
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < total) {
        next++;
        const res = await request(`${turnout.proxy}/n`, { dispatcher: agent });
        await res.body.dump();
        statuses.push(res.statusCode);
      }
    }),
  );
  await agent.close();
  return statuses;
}

t.test('two workers both serve; 2000 requests are counted exactly 2000 times', async (t) => {
  const up = await upstreams(t);
  const turnout = await serveWorkers(t, [...up.lines, 'workers: 2', 'healthCheck: { intervalMs: 60000 }']);
  // The warm spare is forked once the workers serve; let it finish its start before measuring.
  await waitFor(() => turnout.spares().size === 1, 'the warm spare', 20_000);
  const pids = [...turnout.serving().values()];
  t.equal(pids.length, 2, 'two serving worker processes under the control plane');
  t.equal(turnout.workers().length, 3, 'and one warm spare');
  const spare = [...turnout.spares().values()][0]!;
  const spareBefore = cpuTicks(spare);
  const before = pids.map(cpuTicks);
  const controlBefore = cpuTicks(turnout.child.pid!);

  const statuses = await load(turnout, 2000, 32);
  t.equal(statuses.filter((s) => s === 200).length, 2000, 'every client got 200');
  t.equal(up.blue.seen.filter((r) => r.url === '/n').length, 2000, 'blue saw 2000 requests (besides its probes)');

  const used = pids.map((pid, i) => cpuTicks(pid) - before[i]!);
  const sum = used.reduce((a, b) => a + b, 0);
  t.ok(used.every((u) => u > 0 && u >= sum * 0.1), `both workers spent CPU on the load (ticks: ${used.join(', ')})`);
  const spareUsed = cpuTicks(spare) - spareBefore;
  t.ok(spareUsed <= Math.max(2, sum * 0.05), `the spare served none of it (${spareUsed} ticks)`);
  const control = cpuTicks(turnout.child.pid!) - controlBefore;
  // reuseport: the kernel hands connections to the workers; the control plane only merges deltas.
  t.ok(control <= Math.max(5, sum * 0.25), `the control plane handled no proxied request (${control} ticks against the workers' ${sum})`);

  const count = async () => (await adminJson<UpstreamsBody>(turnout, 'GET', '/api/v1/upstreams')).body.colours.blue.requests;
  await waitFor(async () => (await count()) >= 2000, 'the per-second deltas to arrive', 5000, 100);
  // A request counted twice would show up with the next per-second delta: wait for one more.
  await new Promise((r) => setTimeout(r, 1200));
  const view = (await adminJson<UpstreamsBody>(turnout, 'GET', '/api/v1/upstreams')).body;
  t.equal(view.colours.blue.requests, 2000, '/api/v1/upstreams counts 2000');
  t.equal(view.colours.blue.targets[0]!.requests, 2000, 'and 2000 for the target');
  t.equal(view.colours.green.requests, 0);
  t.equal(view.colours.blue.inFlight, 0, 'nothing left in flight');
  const metrics = await metricsText(turnout);
  t.equal(requestsTotal(metrics), 2000, 'turnout_requests_total sums to 2000');
  t.match(metrics, /^turnout_workers\{state="ready"\} 2$/m, 'two workers ready');
  t.match(metrics, /^turnout_workers\{state="spare"\} 1$/m, 'one spare');
  t.match(metrics, /^turnout_worker_restarts_total 0$/m);
});

t.test('a flip under load: every request started 50 ms after the 200 hits the new colour, in every worker', async (t) => {
  const up = await upstreams(t);
  const turnout = await serveWorkers(t, [...up.lines, 'workers: 2', 'healthCheck: { intervalMs: 60000 }']);
  const agent = new Agent({ connections: 32, pipelining: 1 });
  t.teardown(() => agent.close());
  const seen: { sent: number; colour: string; status: number }[] = [];
  let stop = false;
  let failed = 0;
  const client = async () => {
    while (!stop) {
      const sent = performance.now();
      try {
        const res = await request(`${turnout.proxy}/f`, { dispatcher: agent });
        const body = (await res.body.json()) as { name: string };
        seen.push({ sent, colour: body.name, status: res.statusCode });
      } catch {
        failed++;
      }
    }
  };
  const clients = Array.from({ length: 32 }, client);
  await waitFor(() => seen.length > 300, 'load to run');
  const workers = [...turnout.serving().values()];
  t.equal(workers.length, 2);
  const asked = performance.now();
  const flip = await adminJson<{ active: string }>(turnout, 'POST', '/api/v1/flip');
  const answered = performance.now();
  t.equal(flip.status, 200);
  t.equal(flip.body.active, 'green');
  const after = seen.length;
  // Both workers serve after the flip (each holds some of the 32 connections), so "all went to
  // green" below covers each of them: none lags behind the 200.
  await new Promise((r) => setTimeout(r, 50));
  const ticksAfter = workers.map(cpuTicks);
  await waitFor(() => seen.length > after + 600, 'load after the flip');
  const used = workers.map((pid, i) => cpuTicks(pid) - ticksAfter[i]!);
  t.ok(used.every((u) => u > 0), `both workers served after the flip (ticks: ${used.join(', ')})`);
  stop = true;
  await Promise.all(clients);

  t.equal(failed, 0, 'no request failed');
  t.ok(seen.every((s) => s.status === 200), 'every answer was 200');
  const late = seen.filter((s) => s.sent >= answered + 50);
  t.ok(late.length > 300, `${late.length} requests started ≥ 50 ms after the 200`);
  t.same(late.filter((s) => s.colour !== 'green').length, 0, 'all of them went to green');
  const early = seen.filter((s) => s.sent < asked);
  t.ok(early.length > 0 && early.every((s) => s.colour === 'blue'), 'before the flip, blue');
  // Both workers carried the load (each has its own connections): both upstreams saw both workers' share.
  t.ok(up.green.seen.length >= late.length, 'green saw them');
});

for (const spares of [1, 0]) {
  const how = spares === 1 ? 'the warm spare takes its place' : 'spareWorkers: 0, a fresh worker is forked';
  t.test(`SIGKILL of one worker under load: only its in-flight requests may fail, the other keeps serving; ${how}`, async (t) => {
    const up = await upstreams(t);
    const turnout = await serveWorkers(t, [...up.lines, 'workers: 2', `spareWorkers: ${spares}`, 'healthCheck: { intervalMs: 60000 }']);
    if (spares === 1) await waitFor(() => turnout.spares().size === 1, 'the warm spare', 20_000);
    const original = turnout.serving();
    t.equal(original.size, 2);
    const spare = [...turnout.spares().values()][0];
    const connections = 16;
    const agent = new Agent({ connections, pipelining: 1 });
    t.teardown(() => agent.close());
    let ok = 0;
    let stop = false;
    const failures: number[] = [];
    const client = async () => {
      while (!stop) {
        try {
          const res = await request(`${turnout.proxy}/k`, { dispatcher: agent });
          await res.body.dump();
          if (res.statusCode === 200) ok++;
          else failures.push(performance.now());
        } catch {
          failures.push(performance.now());
        }
      }
    };
    const clients = Array.from({ length: connections }, client);
    await waitFor(() => ok > 300, 'load to run');
    const [victimId, victim] = [...original][0]!;
    const [survivorId, survivor] = [...original][1]!;
    const survivorTicks = cpuTicks(survivor);
    process.kill(victim, 'SIGKILL');
    const killed = performance.now();
    const okAtKill = ok;
    // The replacement: the spare itself (already forked and built), or a new fork.
    await waitFor(() => turnout.serving().size === 2 && !turnout.serving().has(victimId), 'a replacement worker serving', 20_000, 5);
    const servingIn = Math.round(performance.now() - killed);
    const [replacementId, replacement] = [...turnout.serving()].find(([id]) => id !== survivorId)!;
    t.comment(`replacement ${replacementId} serving ${servingIn} ms after the SIGKILL (seen from the test; bench/worker-replace.ts measures it)`);
    if (spare !== undefined) {
      t.equal(replacement, spare, 'the warm spare became the replacement: no fork on the way');
      t.match(turnout.output(), new RegExp(`spare ${replacementId} takes ${victimId}'s place`));
    }
    t.equal(turnout.serving().get(survivorId), survivor, 'the other worker kept running');
    const okAtReplacement = ok;
    await waitFor(() => ok > okAtReplacement + 500, 'load after the replacement', 20_000);
    stop = true;
    await Promise.all(clients);

    t.ok(failures.length <= connections, `at most one failure per connection (${failures.length}), i.e. only in-flight requests of the killed worker`);
    t.ok(failures.every((at) => at >= killed), 'no failure before the kill');
    t.ok(ok > okAtKill + 500 && cpuTicks(survivor) > survivorTicks, 'the other worker kept serving');
    t.match(turnout.output(), /worker w\d died \(signal SIGKILL\); starting a replacement/);
    // New connections are spread over both sockets again: the replacement takes its share.
    const before = cpuTicks(replacement);
    t.ok((await load(turnout, 1500, 32)).every((s) => s === 200), 'new connections all served');
    t.ok(cpuTicks(replacement) > before, 'the replacement serves some of them');
    if (spares === 1) {
      // A new spare is forked once the old one serves, for the next death.
      await waitFor(() => turnout.spares().size === 1 && ![...turnout.spares().values()].includes(spare!), 'a new warm spare', 20_000);
      t.pass('a new spare is warm');
    }
    const metrics = await metricsText(turnout);
    t.match(metrics, /^turnout_worker_restarts_total 1$/m);
    t.match(metrics, /^turnout_workers\{state="ready"\} 2$/m);
  });
}

t.test('a spare that dies is re-forked; the serving workers are not touched', async (t) => {
  const up = await upstreams(t);
  const turnout = await serveWorkers(t, [...up.lines, 'workers: 2', 'healthCheck: { intervalMs: 60000 }']);
  await waitFor(() => turnout.spares().size === 1, 'the warm spare', 20_000);
  const serving = [...turnout.serving().values()];
  const spare = [...turnout.spares().values()][0]!;
  process.kill(spare, 'SIGKILL');
  await waitFor(() => {
    const now = [...turnout.spares().values()];
    return now.length === 1 && now[0] !== spare;
  }, 'another spare', 20_000);
  t.not([...turnout.spares().values()][0], spare, 'a new spare process');
  t.same([...turnout.serving().values()], serving, 'the same two workers serve');
  t.ok((await load(turnout, 200, 8)).every((s) => s === 200));
  t.match(await metricsText(turnout), /^turnout_worker_restarts_total 0$/m, 'a spare is not a restart');
});

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
  const turnout = await serveWorkers(t, [...up.lines, 'workers: 2', 'healthCheck: { intervalMs: 60000 }', 'shutdown: { drainSeconds: 5 }', `state: { store: file, path: "${statePath}" }`]);
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

t.test('workers: auto runs one worker per CPU', async (t) => {
  const up = await upstreams(t);
  const turnout = await serveWorkers(t, [...up.lines, 'workers: auto', 'healthCheck: { intervalMs: 60000 }']);
  t.equal(turnout.serving().size, availableParallelism(), `${availableParallelism()} serving workers on this machine`);
  const statuses = await load(turnout, 200, 8);
  t.ok(statuses.every((s) => s === 200));
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

t.test('probe health, owned by the control plane, reaches every worker through the snapshot channel', async (t) => {
  const b1 = await startUpstream(t, 'b1', { keepBody: false });
  const b2 = await startUpstream(t, 'b2', { keepBody: false });
  const green = await startUpstream(t, 'green', { keepBody: false });
  let b2Healthy = true;
  b2.handle((req, res) => {
    if (req.url === '/healthz') res.writeHead(b2Healthy ? 200 : 503);
    res.end('b2');
  });
  const turnout = await serveWorkers(t, [
    `upstreams: { blue: { targets: ["${b1.url}", "${b2.url}"] }, green: { targets: ["${green.url}"] } }`,
    'workers: 2',
    // A generous probe timeout: on a busy machine a slow probe of b1 must not mark it down too.
    'healthCheck: { intervalMs: 1000, timeoutMs: 1000, unhealthyAfter: 1, healthyAfter: 1 }',
  ]);
  const targetHealthy = async () => (await adminJson<{ colours: { blue: { targets: { healthy: boolean }[] } } }>(turnout, 'GET', '/api/v1/upstreams')).body.colours.blue.targets[1]!.healthy;
  b2Healthy = false;
  await waitFor(async () => !(await targetHealthy()), 'the control plane to mark b2 unhealthy');
  const seenBefore = b2.seen.filter((r) => r.url === '/n').length;
  const statuses = await load(turnout, 400, 16);
  t.same(statuses.filter((s) => s !== 200), [], 'every request answered 200 by b1');
  t.equal(b2.seen.filter((r) => r.url === '/n').length, seenBefore, 'no worker sends to the unhealthy target');
  t.ok(b2.seen.filter((r) => r.url === '/healthz').length > 0, 'probed (by the control plane only)');

  b2Healthy = true;
  await waitFor(() => targetHealthy(), 'b2 healthy again');
  const b1Before = b1.seen.length;
  const b2Before = b2.seen.filter((r) => r.url === '/n').length;
  t.ok((await load(turnout, 400, 16)).every((s) => s === 200));
  const toB2 = b2.seen.filter((r) => r.url === '/n').length - b2Before;
  t.ok(toB2 >= 150 && b1.seen.length - b1Before >= 150, `round robin over both again (b2 got ${toB2} of 400)`);
});

t.test('passive ejection is per worker: each worker ejects a failing target after its own 3 failures', async (t) => {
  const b1 = await startUpstream(t, 'b1', { keepBody: false });
  const b2 = await startUpstream(t, 'b2', { keepBody: false });
  const green = await startUpstream(t, 'green', { keepBody: false });
  b2.handle((req, res) => {
    // Healthy to the probes, failing every request: only passive ejection can catch it.
    if (req.url !== '/healthz') res.writeHead(500);
    res.end('b2');
  });
  const turnout = await serveWorkers(t, [
    `upstreams: { blue: { targets: ["${b1.url}", "${b2.url}"] }, green: { targets: ["${green.url}"] } }`,
    'workers: 2',
    'spareWorkers: 0',
    'healthCheck: { intervalMs: 60000 }',
    'outlier: { consecutiveFailures: 3, ejectMs: 600000 }',
    // No retry: each failure the client sees is one the worker counted.
    'proxy: { retryBudget: 0 }',
  ]);
  const workers = [...turnout.serving().values()];
  const before = workers.map(cpuTicks);
  const statuses: number[] = [];
  // One request at a time, each on a new connection: the kernel spreads them over both workers.
  for (let i = 0; i < 100; i++) {
    const res = await request(`${turnout.proxy}/e`, { reset: true });
    await res.body.dump();
    statuses.push(res.statusCode);
  }
  const used = workers.map((pid, i) => cpuTicks(pid) - before[i]!);
  t.ok(used.every((u) => u > 0), `both workers served (ticks: ${used.join(', ')})`);
  const failed = b2.seen.filter((r) => r.url === '/e').length;
  t.equal(failed, 6, 'b2 got 3 requests from each worker, then each ejected it on its own');
  t.equal(statuses.filter((s) => s === 500).length, 6, 'the clients saw those 6 failures');
  t.same(statuses.slice(-50).filter((s) => s !== 200), [], 'then b1 answered everything');
  const healthy = async () => (await adminJson<{ colours: { blue: { targets: { healthy: boolean }[] } } }>(turnout, 'GET', '/api/v1/upstreams')).body.colours.blue.targets.map((x) => x.healthy);
  await waitFor(async () => (await healthy())[1] === false, 'the control plane to show b2 ejected (per-second delta)', 5000, 100);
  t.same(await healthy(), [true, false], '/api/v1/upstreams: b2 out, b1 in');
});

t.test('stickiness and overrides are the same in every worker: same hash, same snapshot', async (t) => {
  const up = await upstreams(t);
  const turnout = await serveWorkers(t, [...up.lines, 'workers: 2', 'healthCheck: { intervalMs: 60000 }', 'routing: { canaryWeight: 50, sticky: { by: header } }']);
  const workers = [...turnout.serving().values()];
  const before = workers.map(cpuTicks);
  // The README's bucket, computed here independently: FNV-1a 32 over the key's UTF-8 bytes, mod 10^6.
  const bucket = (key: string) => {
    let h = 0x811c9dc5;
    for (const x of Buffer.from(key, 'utf8')) h = Math.imul(h ^ x, 0x01000193) >>> 0;
    return h % 1_000_000;
  };
  // Every request on a new connection, so the kernel spreads them over both workers' sockets.
  const ask = async (user: string, headers: Record<string, string> = {}) => {
    const res = await request(`${turnout.proxy}/s`, { reset: true, headers: { 'x-user-id': user, ...headers } });
    return ((await res.body.json()) as { name: string }).name;
  };
  const wrong: string[] = [];
  const users = Array.from({ length: 60 }, (_, i) => `user-${i}`);
  for (const user of users) {
    const want = bucket(user) < 50 * 10_000 ? 'green' : 'blue';
    const got = await Promise.all([ask(user), ask(user), ask(user), ask(user)]);
    if (got.some((c) => c !== want)) wrong.push(`${user}: ${got.join(',')} (want ${want})`);
  }
  t.same(wrong, [], 'each user always lands on the colour of its bucket, whichever worker answers');
  const greenUser = users.find((u) => bucket(u) < 500_000)!;
  const overridden = await Promise.all(Array.from({ length: 8 }, () => ask(greenUser, { 'x-turnout-colour': 'blue' })));
  t.same(overridden, Array(8).fill('blue'), 'the override wins in every worker');
  const used = workers.map((pid, i) => cpuTicks(pid) - before[i]!);
  t.ok(used.every((u) => u > 0), `both workers answered (ticks: ${used.join(', ')})`);
});

t.test('workers: 1 stays a single process that serves and counts by itself', async (t) => {
  const up = await upstreams(t);
  const turnout = await serveWorkers(t, [...up.lines, 'workers: 1', 'healthCheck: { intervalMs: 60000 }']);
  t.same(turnout.workers(), [], 'no forked worker');
  t.ok((await load(turnout, 100, 4)).every((s) => s === 200));
  // In-process: counted as each request ends, no per-second delta to wait for.
  t.equal((await adminJson<UpstreamsBody>(turnout, 'GET', '/api/v1/upstreams')).body.colours.blue.requests, 100);
});
