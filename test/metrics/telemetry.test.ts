// Telemetry as the data plane's Recorder: per colour and per target windows, in-flight counts,
// the exact /api/v1/upstreams layout (CONTRACT §4), and health as the balancer sees it.
import t from 'tap';
import type { Colour } from '../../src/domain.ts';
import { Telemetry } from '../../src/metrics/telemetry.ts';
import { ColourPool } from '../../src/upstream/pool.ts';

function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

interface TeardownHost {
  teardown(fn: () => unknown): void;
}

function makePools(t: TeardownHost, clock: { now(): number }, urls: Record<Colour, string[]>) {
  const make = (colour: Colour) =>
    new ColourPool(colour, urls[colour], {
      clock,
      outlier: { consecutiveFailures: 3, ejectMs: 10_000 },
      dispatcher: { connectMs: 1000, responseMs: 1000, connections: 1 },
    });
  const pools = { blue: make('blue'), green: make('green') };
  t.teardown(() => Promise.all([pools.blue.close(), pools.green.close()]));
  return pools;
}

const URLS = { blue: ['http://10.0.0.1:3000', 'http://10.0.0.2:3000'], green: ['http://10.0.1.1:3000'] };

t.test('the /api/v1/upstreams body has exactly the contract layout', async (t) => {
  const clock = manualClock();
  const pools = makePools(t, clock, URLS);
  const telemetry = new Telemetry({ pools, windowSeconds: 60, clock });
  const [b0, b1] = pools.blue.targets;
  telemetry.begin(b0!);
  telemetry.end('blue', b0!, 200, 10, 'ok');
  telemetry.begin(b1!);
  telemetry.end('blue', b1!, 502, 30, 'refused');
  telemetry.begin(b0!); // still in flight

  const body = telemetry.upstreams();
  t.same(Object.keys(body).sort(), ['colours', 'windowSeconds']);
  t.equal(body.windowSeconds, 60);
  t.same(Object.keys(body.colours).sort(), ['blue', 'green']);
  // `retries` and `connections` beyond CONTRACT §4's S (issue 12): failed attempts retried elsewhere, pool saturation.
  const sKeys = ['connections', 'errorRate', 'errors', 'healthy', 'inFlight', 'latencyMs', 'requests', 'retries', 'targets'];
  const targetKeys = ['connections', 'errorRate', 'errors', 'healthy', 'inFlight', 'latencyMs', 'requests', 'url'];
  for (const colour of ['blue', 'green'] as const) {
    const s = body.colours[colour];
    t.same(Object.keys(s).sort(), sKeys, `${colour}: S keys`);
    t.same(Object.keys(s.latencyMs).sort(), ['p50', 'p90', 'p99']);
    for (const target of s.targets) {
      t.same(Object.keys(target).sort(), targetKeys, `${colour}: target keys`);
      t.same(Object.keys(target.latencyMs).sort(), ['p50', 'p90', 'p99']);
    }
  }
  t.same(body.colours.blue, {
    healthy: true,
    requests: 2,
    errors: 1,
    errorRate: 0.5,
    latencyMs: { p50: body.colours.blue.latencyMs.p50, p90: body.colours.blue.latencyMs.p90, p99: body.colours.blue.latencyMs.p99 },
    inFlight: 1,
    retries: 0,
    // Pool saturation (issue 12): nothing went through the gates here; max = connections × targets.
    connections: { busy: 0, max: 2, queued: 0 },
    targets: [
      { url: URLS.blue[0], healthy: true, requests: 1, errors: 0, errorRate: 0, latencyMs: { p50: 10, p90: 10, p99: 10 }, inFlight: 1, connections: { busy: 0, max: 1, queued: 0 } },
      { url: URLS.blue[1], healthy: true, requests: 1, errors: 1, errorRate: 1, latencyMs: { p50: 30, p90: 30, p99: 30 }, inFlight: 0, connections: { busy: 0, max: 1, queued: 0 } },
    ],
  });
  t.equal(body.colours.blue.latencyMs.p50, 10);
  t.equal(body.colours.blue.latencyMs.p99, 30);
  t.same(body.colours.green, {
    healthy: true,
    requests: 0,
    errors: 0,
    errorRate: 0,
    latencyMs: { p50: null, p90: null, p99: null },
    inFlight: 0,
    retries: 0,
    connections: { busy: 0, max: 1, queued: 0 },
    targets: [{ url: URLS.green[0], healthy: true, requests: 0, errors: 0, errorRate: 0, latencyMs: { p50: null, p90: null, p99: null }, inFlight: 0, connections: { busy: 0, max: 1, queued: 0 } }],
  });
  t.doesNotThrow(() => JSON.stringify(body));
});

t.test('accounting by outcome (CONTRACT §5)', async (t) => {
  const clock = manualClock();
  const pools = makePools(t, clock, URLS);
  const telemetry = new Telemetry({ pools, windowSeconds: 60, clock });
  const g = pools.green.targets[0]!;
  type Row = [what: string, status: number, outcome: Parameters<Telemetry['end']>[4], isError: boolean];
  const rows: Row[] = [
    ['200', 200, 'ok', false],
    ['404 is the client\'s', 404, 'ok', false],
    ['499-style hang-up', 0, 'client_abort', false],
    ['500 answer', 500, 'status5xx', true],
    ['refused', 502, 'refused', true],
    ['reset', 502, 'reset', true],
    ['timeout', 504, 'timeout', true],
  ];
  for (const [, status, outcome] of rows) {
    telemetry.begin(g);
    telemetry.end('green', g, status, 20, outcome);
  }
  telemetry.end('green', null, 503, 0, 'no_healthy_target'); // no begin: no target was picked
  const s = telemetry.colourSummary('green');
  t.equal(s.requests, rows.length + 1);
  t.equal(s.errors, rows.filter((r) => r[3]).length + 1);
  t.equal(s.inFlight, 0, 'every begin was ended; the 503 did not go negative');
  t.equal(s.targets[0]!.requests, rows.length, 'the 503 is the colour\'s, not a target\'s');
  t.same(telemetry.colourWindow('green').errorsByKind, { status5xx: 1, refused: 1, reset: 1, timeout: 1, no_healthy_target: 1, saturated: 0 });
  t.equal(s.latencyMs.p50, 20, 'the 503 (0 ms, no upstream) does not drag latency down');

  const totals = telemetry.totals('green');
  // Row 0 is the target, row 1 "no target"; classes none,1xx,2xx,3xx,4xx,5xx.
  t.same(Array.from(totals.requests), [1, 0, 1, 0, 1, 4, 0, 0, 0, 0, 0, 1]);
  t.same(Array.from(totals.errors), [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0]);
  t.equal(totals.latencyCount, rows.length);
});

t.test('colourSummary(colour, span) looks only at the recent seconds', async (t) => {
  const clock = manualClock(0);
  const pools = makePools(t, clock, URLS);
  const telemetry = new Telemetry({ pools, windowSeconds: 60, clock });
  const g = pools.green.targets[0]!;
  for (let i = 0; i < 30; i++) {
    telemetry.begin(g);
    telemetry.end('green', g, i < 20 ? 500 : 200, i < 20 ? 900 : 10, i < 20 ? 'status5xx' : 'ok');
    clock.advance(1000);
  }
  // Now at second 30: the last 10 seconds (21..30) hold 9 good requests (seconds 21..29).
  const recent = telemetry.colourSummary('green', 10);
  t.equal(recent.requests, 9);
  t.equal(recent.errors, 0);
  t.equal(recent.latencyMs.p99, 10);
  const all = telemetry.colourSummary('green');
  t.equal(all.requests, 30);
  t.equal(all.errors, 20);
  t.equal(all.latencyMs.p99, 900);
  clock.advance(60_000);
  t.equal(telemetry.colourSummary('green').requests, 0, 'everything expires');
});

t.test('healthy follows what the balancer would pick', async (t) => {
  const clock = manualClock();
  const pools = makePools(t, clock, URLS);
  const telemetry = new Telemetry({ pools, windowSeconds: 60, clock });
  const [b0, b1] = pools.blue.targets;
  pools.blue.setProbeHealth(b0!, false, 'test');
  let s = telemetry.colourSummary('blue');
  t.same(s.targets.map((x) => x.healthy), [false, true]);
  t.equal(s.healthy, true);
  for (let i = 0; i < 3; i++) pools.blue.reportOutcome(b1!, 'refused');
  s = telemetry.colourSummary('blue');
  t.same(s.targets.map((x) => x.healthy), [false, true], 'the last target passing its probes is never ejected');
  pools.blue.setProbeHealth(b0!, true, 'test');
  pools.blue.reportOutcome(b1!, 'refused');
  s = telemetry.colourSummary('blue');
  t.same(s.targets.map((x) => x.healthy), [true, false], 'an ejected target shows healthy: false');
  t.equal(s.healthy, true);
  t.equal(pools.blue.pick(), b0, 'agrees with the pool');
  clock.advance(10_000);
  s = telemetry.colourSummary('blue');
  t.same(s.targets.map((x) => x.healthy), [true, true], 'an expired ejection is over, even before pick() notices');
  t.equal(s.healthy, pools.blue.hasAvailable());
});

t.test('a retried request: one client response for the colour, two attempts for the targets, one retry', async (t) => {
  const clock = manualClock();
  const pools = makePools(t, clock, URLS);
  const telemetry = new Telemetry({ pools, windowSeconds: 60, clock });
  const [b0, b1] = pools.blue.targets;
  telemetry.begin(b0!);
  telemetry.retry(b0!, 2, 'reset');
  telemetry.begin(b1!);
  telemetry.end('blue', b1!, 200, 12, 'ok', 10);
  const s = telemetry.colourSummary('blue');
  t.match(s, { requests: 1, errors: 0, errorRate: 0, retries: 1, inFlight: 0 }, 'the client saw one good answer');
  t.equal(s.latencyMs.p99, 12, 'after waiting for both attempts');
  t.same(
    s.targets.map((x) => [x.requests, x.errors, x.latencyMs.p99, x.inFlight]),
    [
      [1, 1, 2, 0],
      [1, 0, 10, 0],
    ],
    'each target counts its attempt',
  );
  const totals = telemetry.totals('blue');
  t.equal(totals.requests.reduce((a, b) => a + b, 0), 1, 'Prometheus: one client response');
  t.equal(totals.errors.reduce((a, b) => a + b, 0), 0, 'and no client-visible error');
  t.equal(totals.retries.reduce((a, b) => a + b, 0), 1, 'and one retry');
});
