// The up channel end to end in one process: a DeltaRecorder per data plane, a transport
// (in-process, or the IPC envelope through a real child process channel in ipc.test.ts), and the
// TelemetryMerger replaying into the control plane's Telemetry. Pure parts, injected clock.
import t from 'tap';
import { Telemetry } from '../../src/metrics/telemetry.ts';
import { ColourPool } from '../../src/upstream/pool.ts';
import { DeltaRecorder, cellBucketOf, PROM_BUCKETS } from '../../src/channels/delta-recorder.ts';
import { ReplayClock, TelemetryMerger } from '../../src/channels/merge.ts';
import { LocalTelemetry } from '../../src/channels/local.ts';
import { bucketOf } from '../../src/metrics/histogram.ts';
import type { TelemetryDelta } from '../../src/channels/types.ts';

function setup(now: { ms: number }) {
  const clock = { now: () => now.ms };
  const pools = (urls: { blue: string[]; green: string[] }) => ({
    blue: new ColourPool('blue', urls.blue, { clock, outlier: { consecutiveFailures: 3, ejectMs: 10_000 }, dispatcher: { connectMs: 100, responseMs: 100, connections: 1 } }),
    green: new ColourPool('green', urls.green, { clock, outlier: { consecutiveFailures: 3, ejectMs: 10_000 }, dispatcher: { connectMs: 100, responseMs: 100, connections: 1 } }),
  });
  const urls = { blue: ['http://10.0.0.1:1', 'http://10.0.0.2:1'], green: ['http://10.0.1.1:1'] };
  // The control plane's pools and Telemetry; each data plane has its own pools (same config).
  const controlPools = pools(urls);
  const replay = new ReplayClock(clock);
  const telemetry = new Telemetry({ pools: controlPools, windowSeconds: 60, clock: replay });
  const merger = new TelemetryMerger({ telemetry, pools: controlPools, clock: replay });
  const transport = new LocalTelemetry();
  const sent: TelemetryDelta[] = [];
  transport.subscribe((d) => {
    sent.push(JSON.parse(JSON.stringify(d)) as TelemetryDelta); // what a wire would carry
    merger.merge(sent.at(-1)!);
  });
  transport.onGone((id) => merger.forget(id));
  const dataPlane = (id: string) => {
    const p = pools(urls);
    return { pools: p, recorder: new DeltaRecorder({ from: id, targets: { blue: p.blue.targets, green: p.green.targets }, publisher: transport, now: clock.now }) };
  };
  return { telemetry, merger, transport, sent, dataPlane, controlPools };
}

t.test('counts from two data planes merge exactly once, with latencies and status classes', async (t) => {
  const now = { ms: 1_000_000_500 };
  const { telemetry, dataPlane, sent, controlPools } = setup(now);
  const a = dataPlane('w1');
  const b = dataPlane('w2');
  const blue0a = a.pools.blue.targets[0]!;
  const blue1b = b.pools.blue.targets[1]!;
  for (let i = 0; i < 700; i++) {
    a.recorder.begin(blue0a);
    a.recorder.end('blue', blue0a, 200, 1 + (i % 10), 'ok');
  }
  for (let i = 0; i < 300; i++) {
    b.recorder.begin(blue1b);
    b.recorder.end('blue', blue1b, i % 3 === 0 ? 502 : 200, 40, i % 3 === 0 ? 'refused' : 'ok');
  }
  b.recorder.end('green', null, 503, 0, 'no_healthy_target');
  now.ms += 1000;
  a.recorder.flush();
  b.recorder.flush();
  t.equal(sent.length, 2, 'one delta per data plane and second');
  t.equal(sent[0]!.second, 1_000_000, 'stamped with the second that ended');

  const blue = telemetry.colourWindow('blue');
  t.equal(blue.requests, 1000);
  t.equal(blue.errors, 100);
  t.equal(blue.errorsByKind.refused, 100);
  t.equal(telemetry.colourWindow('green').requests, 1);
  t.equal(telemetry.colourWindow('green').errorsByKind.no_healthy_target, 1);
  const totals = telemetry.totals('blue');
  t.equal(totals.requests[0 * 6 + 2], 700, 'target 0: 700 × 2xx');
  t.equal(totals.requests[1 * 6 + 2], 200, 'target 1: 200 × 2xx');
  t.equal(totals.requests[1 * 6 + 5], 100, 'target 1: 100 × 5xx');
  t.equal(totals.latencyCount, 1000);
  // Exact _sum: 700 requests of 1..10 ms (70 of each) + 300 of 40 ms.
  t.equal(Math.round(totals.latencySumSeconds * 1e6) / 1e6, (70 * 55 + 300 * 40) / 1000);
  t.equal(telemetry.inFlightOf(controlPools.blue.targets[0]!), 0, 'nothing in flight');
  const p99 = telemetry.colourSummary('blue').latencyMs.p99!;
  t.ok(Math.abs(p99 - 40) / 40 < 0.02, `p99 ≈ 40 ms (${p99})`);
});

t.test('a replayed delta is not counted twice; an idle second sends nothing', async (t) => {
  const now = { ms: 2_000_000_000 };
  const { telemetry, dataPlane, merger, sent } = setup(now);
  const a = dataPlane('w1');
  a.recorder.end('blue', a.pools.blue.targets[0]!, 200, 3, 'ok');
  now.ms += 1000;
  a.recorder.flush();
  merger.merge(sent[0]!);
  t.equal(telemetry.colourWindow('blue').requests, 1);
  t.equal(merger.dropped, 1);
  now.ms += 1000;
  t.equal(a.recorder.flush(), undefined, 'nothing to send');
});

t.test('in flight: begun requests show; a data plane that is gone releases them', async (t) => {
  const now = { ms: 3_000_000_000 };
  const { telemetry, dataPlane, transport, controlPools } = setup(now);
  const a = dataPlane('w1');
  const b = dataPlane('w2');
  for (let i = 0; i < 5; i++) a.recorder.begin(a.pools.blue.targets[0]!);
  for (let i = 0; i < 2; i++) b.recorder.begin(b.pools.blue.targets[0]!);
  now.ms += 1000;
  a.recorder.flush();
  b.recorder.flush();
  const target = controlPools.blue.targets[0]!;
  t.equal(telemetry.inFlightOf(target), 7);
  b.recorder.end('blue', b.pools.blue.targets[0]!, 200, 5, 'ok');
  now.ms += 1000;
  b.recorder.flush();
  t.equal(telemetry.inFlightOf(target), 6);
  transport.gone('w1');
  t.equal(telemetry.inFlightOf(target), 1, "w1's five never end: released");
  t.equal(telemetry.colourWindow('blue').requests, 1, 'and not counted as requests');
});

t.test('a worker ejection shows on the control plane while it lasts', async (t) => {
  const now = { ms: 4_000_000_000 };
  const { telemetry, dataPlane, controlPools } = setup(now);
  const a = dataPlane('w1');
  const target = a.pools.blue.targets[1]!;
  for (let i = 0; i < 3; i++) {
    a.recorder.begin(target);
    a.pools.blue.reportOutcome(target, 'refused');
    a.recorder.end('blue', target, 502, 1, 'refused');
  }
  t.notOk(target.available, 'ejected in the worker');
  now.ms += 1000;
  a.recorder.flush();
  t.notOk(telemetry.colourSummary('blue').targets[1]!.healthy, 'shown unhealthy by the control plane');
  t.ok(telemetry.colourSummary('blue').targets[0]!.healthy);
  now.ms += 10_000;
  t.ok(telemetry.colourSummary('blue').targets[1]!.healthy, 'back once the ejection ran out');
  t.ok(controlPools.blue.hasAvailable());
});

t.test('a delta lands in the second it counts, or now when it is too old', async (t) => {
  const now = { ms: 5_000_000_000 };
  const { telemetry, dataPlane } = setup(now);
  const a = dataPlane('w1');
  a.recorder.end('blue', a.pools.blue.targets[0]!, 200, 3, 'ok');
  now.ms += 1000;
  a.recorder.flush();
  t.equal(telemetry.colourWindow('blue', 1).requests, 0, 'not in the current second');
  t.equal(telemetry.colourWindow('blue', 2).requests, 1, 'in the one before');
  a.recorder.end('blue', a.pools.blue.targets[0]!, 200, 3, 'ok');
  a.recorder.flush(Math.floor(now.ms / 1000) - 30);
  t.equal(telemetry.colourWindow('blue', 1).requests, 1, 'a 30 s old delta is counted now');
});

t.test('cell buckets keep both the fine histogram bucket and the Prometheus bucket', async (t) => {
  for (const ms of [0, 0.004, 0.99, 1, 1.001, 2.5, 2.51, 59_999, 1e9]) {
    const b = cellBucketOf(ms);
    t.equal(Math.floor(b / PROM_BUCKETS), bucketOf(ms), `${ms} ms: fine bucket`);
  }
  t.equal(cellBucketOf(1) % PROM_BUCKETS, 0, '1 ms is in the ≤ 1 ms bucket');
  t.equal(cellBucketOf(1.001) % PROM_BUCKETS, 1);
  t.equal(cellBucketOf(1e9) % PROM_BUCKETS, PROM_BUCKETS - 1, '+Inf');
});
