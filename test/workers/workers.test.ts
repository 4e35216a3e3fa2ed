// CONTRACT §7 with real processes: `turnout serve` with workers, its forked data planes sharing
// the proxy listener, the admin API on the control plane. Each test asserts what the clients got,
// what the upstreams saw, and what the control plane counted. Faults: faults.test.ts; lifecycle:
// lifecycle.test.ts; health and routing in every worker: routing.test.ts.
import t from 'tap';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { waitFor } from '../helpers/wait.ts';
import { adminJson, cpuTicks, load, metricsText, requestsTotal, serveWorkers, upstreams, type UpstreamsBody } from './harness.ts';

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

t.test('workers: auto runs one worker per CPU', async (t) => {
  const up = await upstreams(t);
  const turnout = await serveWorkers(t, [...up.lines, 'workers: auto', 'healthCheck: { intervalMs: 60000 }']);
  t.equal(turnout.serving().size, availableParallelism(), `${availableParallelism()} serving workers on this machine`);
  const statuses = await load(turnout, 200, 8);
  t.ok(statuses.every((s) => s === 200));
});

t.test('workers: 1 stays a single process that serves and counts by itself', async (t) => {
  const up = await upstreams(t);
  const turnout = await serveWorkers(t, [...up.lines, 'workers: 1', 'healthCheck: { intervalMs: 60000 }']);
  t.same(turnout.workers(), [], 'no forked worker');
  t.ok((await load(turnout, 100, 4)).every((s) => s === 200));
  // In-process: counted as each request ends, no per-second delta to wait for.
  t.equal((await adminJson<UpstreamsBody>(turnout, 'GET', '/api/v1/upstreams')).body.colours.blue.requests, 100);
});
