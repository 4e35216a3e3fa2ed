// Active health checks against real upstreams on 127.0.0.1:0 that we flip between 200, 500,
// slow and closed, driving probeOnce() directly (no timers, no sleeps).
import t from 'tap';
import type { Colour } from '../../src/domain.ts';
import { HealthChecker } from '../../src/upstream/health-check.ts';
import { ColourPool } from '../../src/upstream/pool.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

interface LogLine {
  level: 'info' | 'warn';
  obj: object;
  msg: string;
}

const CONFIG = { path: '/healthz', intervalMs: 2000, timeoutMs: 300, unhealthyAfter: 2, healthyAfter: 2 };

async function setup(t: TeardownHost, config = CONFIG, awaitFirstProbe = false) {
  const a = await startUpstream(t, 'a');
  const b = await startUpstream(t, 'b');
  const g = await startUpstream(t, 'g');
  const clock = { now: () => 1_700_000_000_000 };
  const make = (colour: Colour, urls: string[]) =>
    new ColourPool(colour, urls, {
      clock,
      outlier: { consecutiveFailures: 3, ejectMs: 10_000 },
      dispatcher: { connectMs: 1000, responseMs: 1000, connections: 1 },
      awaitFirstProbe,
    });
  const pools = { blue: make('blue', [a.url, b.url]), green: make('green', [g.url]) };
  const logs: LogLine[] = [];
  const logger = {
    info: (obj: object, msg?: string) => logs.push({ level: 'info', obj, msg: msg ?? '' }),
    warn: (obj: object, msg?: string) => logs.push({ level: 'warn', obj, msg: msg ?? '' }),
  };
  const checker = new HealthChecker({ pools, config, clock, logger });
  t.teardown(async () => {
    checker.stop();
    await Promise.all([pools.blue.close(), pools.green.close()]);
  });
  return { a, b, g, pools, checker, logs, target: (i: number) => pools.blue.targets[i]! };
}

interface TeardownHost {
  teardown(fn: () => unknown): void;
}

function answer(upstream: Upstream, status: number): void {
  upstream.handle((_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(String(status));
  });
}

t.test('probes the health path of every target', async (t) => {
  const { a, b, g, checker } = await setup(t);
  await checker.probeOnce();
  for (const u of [a, b, g]) {
    t.same(u.seen.map((s) => [s.method, s.url]), [['GET', '/healthz']], `${u.url} saw one probe`);
    t.equal(u.seen[0]!.headers['user-agent'], 'turnout-health-check');
  }
  t.same(checker.stats().map((s) => [s.successes, s.failures, s.lastResult]), [
    [1, 0, 'HTTP 200'],
    [1, 0, 'HTTP 200'],
    [1, 0, 'HTTP 200'],
  ]);
});

t.test('unhealthy after unhealthyAfter failures, healthy after healthyAfter successes', async (t) => {
  const { a, pools, checker, logs, target } = await setup(t);
  const ta = target(0);
  answer(a, 500);
  await checker.probeOnce();
  t.equal(ta.probeHealthy, true, 'one failure is not enough');
  t.equal(ta.available, true);
  await checker.probeOnce();
  t.equal(ta.probeHealthy, false, 'two failures: unhealthy');
  t.equal(ta.available, false);
  t.same([pools.blue.pick()?.index, pools.blue.pick()?.index], [1, 1], 'the balancer skips it');

  answer(a, 200);
  await checker.probeOnce();
  t.equal(ta.probeHealthy, false, 'one success is not enough');
  answer(a, 503);
  await checker.probeOnce();
  answer(a, 200);
  await checker.probeOnce();
  t.equal(ta.probeHealthy, false, 'a failure in between restarts the count');
  await checker.probeOnce();
  t.equal(ta.probeHealthy, true, 'two successes in a row: healthy');
  t.ok([pools.blue.pick()?.index, pools.blue.pick()?.index].includes(0), 'picked again');

  const s = checker.statsOf(ta)!;
  t.equal(s.becameUnhealthy, 1);
  t.equal(s.becameHealthy, 1);
  t.equal(s.failures, 3);
  t.equal(s.successes, 3);
  t.same(
    logs.map((l) => [l.level, l.msg]),
    [
      ['warn', 'target unhealthy: health check failed 2 times in a row (HTTP 500)'],
      ['info', 'target healthy: health check passed 2 times in a row (HTTP 200)'],
    ],
    'each state change logged once',
  );
  t.same(logs[0]!.obj, { colour: 'blue', target: a.url, healthy: false });
  t.equal(checker.statsOf(target(1))!.becameUnhealthy, 0, 'the other target never changed');
});

t.test('awaiting the first probe: no target until it passes; one pass is enough at start', async (t) => {
  const { b, pools, checker, logs, target } = await setup(t, CONFIG, true);
  t.same(pools.blue.targets.map((x) => [x.probeHealthy, x.available]), [[false, false], [false, false]], 'nothing trusted before a probe');
  t.equal(pools.blue.pick(), undefined);
  t.equal(pools.blue.hasAvailable(), false);
  answer(b, 500);
  let firstRound = false;
  void checker.firstRound.then(() => (firstRound = true));
  await checker.probeOnce();
  await Promise.resolve();
  t.equal(firstRound, true, 'firstRound settles after the first round');
  t.equal(target(0).available, true, 'a passing first probe: in at once, although healthyAfter is 2');
  t.equal(target(1).available, false, 'a failing first probe: out');
  t.same([pools.blue.pick()?.index, pools.blue.pick()?.index], [0, 0]);
  t.match(logs.find((l) => l.obj && (l.obj as { target?: string }).target === b.url)?.msg ?? '', /first health check failed \(HTTP 500\)/);
  answer(b, 200);
  await checker.probeOnce();
  t.equal(target(1).available, false, 'after a failed first probe, one pass is not enough');
  await checker.probeOnce();
  t.equal(target(1).available, true, 'healthyAfter passes bring it in');
  t.equal(checker.statsOf(target(0))!.becameHealthy, 1);
});

t.test('3xx is healthy, 4xx is not', async (t) => {
  const { a, b, checker, target } = await setup(t);
  answer(a, 302);
  answer(b, 404);
  await checker.probeOnce();
  await checker.probeOnce();
  t.equal(target(0).probeHealthy, true, '302');
  t.equal(target(1).probeHealthy, false, '404');
  t.equal(checker.statsOf(target(1))!.lastResult, 'HTTP 404');
});

t.test('a closed target is unhealthy, and healthy again when it comes back', async (t) => {
  const { a, checker, target } = await setup(t);
  const port = a.port;
  await a.close();
  await checker.probeOnce();
  await checker.probeOnce();
  t.equal(target(0).probeHealthy, false);
  t.equal(checker.statsOf(target(0))!.lastResult, 'ECONNREFUSED');

  await new Promise<void>((resolve) => a.server.listen(port, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { a.server.closeAllConnections(); a.server.close(() => resolve()); }));
  await checker.probeOnce();
  await checker.probeOnce();
  t.equal(target(0).probeHealthy, true, 'listening again on the same port');
});

t.test('a probe that gets no answer within timeoutMs fails', async (t) => {
  const { g, pools, checker } = await setup(t);
  g.handle(() => {}); // never answers
  await checker.probeOnce();
  const stats = checker.statsOf(pools.green.targets[0]!)!;
  t.equal(stats.lastResult, 'timeout');
  await checker.probeOnce();
  t.equal(pools.green.targets[0]!.probeHealthy, false);
  t.equal(pools.green.hasAvailable(), false, 'the colour has no healthy target left');
});

t.test('after stop(), a round in progress applies nothing', async (t) => {
  const { a, checker, target } = await setup(t, { ...CONFIG, unhealthyAfter: 1 });
  answer(a, 500);
  const round = checker.probeOnce();
  checker.stop();
  await round;
  t.equal(target(0).probeHealthy, true);
  t.equal(checker.statsOf(target(0))!.failures, 0);
});

t.test('start() probes at once and keeps probing; a dead target is confirmed at the edge interval', async (t) => {
  const { a, pools, checker, target } = await setup(t, { ...CONFIG, intervalMs: 60_000 });
  t.equal(checker.edgeIntervalMs, 15_000, 'a quarter of the interval by default');
  t.equal(new HealthChecker({ pools, config: CONFIG }).edgeIntervalMs, 500, 'with the defaults (2 s): 0.5 s');
  const fast = new HealthChecker({ pools, config: { ...CONFIG, intervalMs: 60_000 }, edgeIntervalMs: 20 });
  t.teardown(() => fast.stop());
  answer(a, 500);
  fast.start();
  // The first round runs at once; the second only because the first failure put the target in
  // question (the full interval is a minute). Poll for the outcome with a bounded deadline.
  const deadline = Date.now() + 5_000;
  while (target(0).probeHealthy && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.equal(target(0).probeHealthy, false, 'unhealthy after two quick probes');
  fast.stop();
  t.ok(a.seen.length >= 2);
});
