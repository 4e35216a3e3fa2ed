// CONTRACT §7, one decision everywhere, with real processes: routing, stickiness, overrides, probe
// health and passive ejection in every worker of `turnout serve` with workers: 2.
import t from 'tap';
import { join } from 'node:path';
import { request } from 'undici';
import { startUpstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';
import { adminJson, cpuTicks, load, serveWorkers, upstreams } from './harness.ts';

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
