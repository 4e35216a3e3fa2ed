// Shadow comparison with workers (CONTRACT §7 and §9), real processes: `turnout serve` with
// `workers: 2`. Each worker mirrors and compares the requests it serves through shadow pools of
// its own and reports its counts up the IPC channel; GET /api/v1/shadow and /metrics on the
// control plane show the sum, exactly.
import t from 'tap';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Agent, request } from 'undici';
import { startUpstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';
import { adminJson, cpuTicks, metricsText, serveWorkers } from './harness.ts';

function json(res: import('node:http').ServerResponse, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** Open TCP connections of process `pid` to 127.0.0.1:`port` (its fds matched against /proc/net/tcp). */
function connectionsTo(pid: number, port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const remote = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let n = 0;
  for (const line of readFileSync(`/proc/${pid}/net/tcp`, 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // f[2]: remote address, f[3]: state (01 established), f[9]: inode
    if (f[2] === remote && f[3] === '01' && inodes.has(f[9]!)) n++;
  }
  return n;
}

interface ShadowBody {
  percent: number;
  compared: number;
  mismatches: number;
  mismatchRate: number;
  byKind: Record<string, number>;
  noise: { key: string; seen: number }[];
  samples: { path: string; first: string }[];
  results: Record<string, number>;
  dropped: number;
}

t.test('workers: 2 — every worker mirrors to green, and the control plane counts every pair exactly once', async (t) => {
  // Two blue targets that differ in a header (noise), one green that differs on /diff (a real mismatch).
  const blues = [await startUpstream(t, 'blue-0', { keepBody: false }), await startUpstream(t, 'blue-1', { keepBody: false })];
  blues.forEach((b, i) => b.handle((req, res) => json(res, { path: req.url }, { 'x-host': `blue-${i}` })));
  const green = await startUpstream(t, 'green', { keepBody: false });
  green.handle((req, res) => json(res, { path: req.url, ...(req.url!.startsWith('/diff') ? { v: 2 } : {}) }, { 'x-host': 'green' }));
  const turnout = await serveWorkers(t, [
    `upstreams: { blue: { targets: ["${blues[0]!.url}", "${blues[1]!.url}"] }, green: { targets: ["${green.url}"] } }`,
    'workers: 2',
    'healthCheck: { intervalMs: 60000 }',
    'shadow: { noisePercent: 100 }',
  ]);
  // The serving workers (a warm spare may be starting beside them: it serves nothing).
  const pids = [...turnout.serving().values()];
  t.equal(pids.length, 2, 'two workers');

  // Switched on at runtime: the percent reaches every worker with the snapshot.
  const put = await adminJson<ShadowBody>(turnout, 'PUT', '/api/v1/shadow', { percent: 100 });
  t.equal(put.status, 200);
  t.equal(put.body.percent, 100);

  const total = 400;
  const before = pids.map(cpuTicks);
  const agent = new Agent({ connections: 32, pipelining: 1 });
  t.teardown(() => agent.close());
  let next = 0;
  const colours: string[] = [];
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < total) {
        const path = next++ % 10 === 0 ? '/diff' : '/same';
        const res = await request(`${turnout.proxy}${path}`, { dispatcher: agent });
        colours.push(String(res.headers['x-turnout-colour'] ?? res.statusCode));
        await res.body.dump();
      }
    }),
  );
  t.equal(colours.filter((c) => c === 'blue').length, total, 'every client got blue');
  const used = pids.map((pid, i) => cpuTicks(pid) - before[i]!);
  t.ok(used.every((u) => u > 0), `both workers served (CPU ticks: ${used.join(', ')})`);
  // Only shadows reach green (the control plane probes it, but every 60 s): each worker holds its
  // own shadow connections to green, so both mirrored.
  for (const [i, pid] of pids.entries()) t.ok(connectionsTo(pid, green.port) > 0, `worker ${i + 1} has shadow connections to green`);

  const shadow = async () => (await adminJson<ShadowBody>(turnout, 'GET', '/api/v1/shadow')).body;
  await waitFor(async () => (await shadow()).compared >= total, 'every pair reported', 10_000, 100);
  // A report added twice would show with the next one: wait for one more second of reports.
  await new Promise((r) => setTimeout(r, 1200));
  const view = await shadow();
  t.equal(green.seen.filter((s) => s.headers['x-turnout-shadow'] === '1').length, total, 'green saw every request, marked');
  t.match(view, { percent: 100, compared: total, mismatches: total / 10, mismatchRate: 0.1, byKind: { status: 0, headers: 0, body: total / 10 }, dropped: 0 });
  t.same(view.results, { match: total - total / 10, mismatch: total / 10, error: 0, aborted: 0 }, 'every result counted once');
  t.ok(view.samples.length > 0 && view.samples.length <= 20, `samples bounded (${view.samples.length})`);
  t.ok(view.samples.every((s) => s.path === '/diff' && s.first === '$.v'), 'samples are the /diff pairs');
  t.same(view.noise.map((n) => n.key), ['header:x-host'], 'the noise learnt in the workers is listed');
  t.equal(view.noise[0]!.seen, total, 'seen once per pair, summed over the workers');
  const metrics = await metricsText(turnout);
  t.match(metrics, new RegExp(`^turnout_shadow_requests_total\\{result="match"\\} ${total - total / 10}$`, 'm'));
  t.match(metrics, new RegExp(`^turnout_shadow_requests_total\\{result="mismatch"\\} ${total / 10}$`, 'm'));
  t.match(metrics, /^turnout_shadow_dropped_total 0$/m);
  const upstreams = (await adminJson<{ colours: Record<string, { requests: number }> }>(turnout, 'GET', '/api/v1/upstreams')).body;
  t.equal(upstreams.colours.green!.requests, 0, 'shadows are not in green\'s windows');

  // The rollout gate reads the merged counts: a green that answers differently is refused.
  const started = await adminJson(turnout, 'POST', '/api/v1/rollouts', { steps: [{ weight: 10, holdSeconds: 60 }], analysis: { intervalSeconds: 1, maxShadowMismatchRate: 0.05, minRequests: 20 } });
  t.equal(started.status, 201);
  await Promise.all(Array.from({ length: 40 }, (_, i) => request(`${turnout.proxy}/diff?${i}`, { dispatcher: agent }).then((r) => r.body.dump())));
  await waitFor(async () => (await adminJson<{ status: string }>(turnout, 'GET', '/api/v1/rollouts/current')).body.status === 'aborted', 'the gate to abort', 10_000, 100);
  const current = (await adminJson<{ reason: string }>(turnout, 'GET', '/api/v1/rollouts/current')).body;
  t.match(current.reason, /shadow mismatchRate 1 \(\d+\/\d+\) above maxShadowMismatchRate 0\.05/);
  t.equal((await adminJson<{ canary: { weight: number } }>(turnout, 'GET', '/api/v1/state')).body.canary.weight, 0, 'no traffic shifted');
});
