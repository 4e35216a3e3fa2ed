// SlidingWindow by table with an injected clock: rollover, expiry, spans, error kinds, percentiles.
import t from 'tap';
import type { Outcome } from '../../src/domain.ts';
import { SlidingWindow, roundMs } from '../../src/metrics/window.ts';

function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
    set(ms: number) {
      now = ms;
    },
  };
}

t.test('counts requests, errors by kind, and not hang-ups or ok', async (t) => {
  const clock = manualClock();
  const w = new SlidingWindow(60, clock);
  const outcomes: Outcome[] = ['ok', 'ok', 'client_abort', 'status5xx', 'refused', 'reset', 'timeout', 'no_healthy_target', 'status5xx', 'saturated'];
  for (const o of outcomes) w.record(o, o === 'no_healthy_target' || o === 'saturated' ? undefined : 10);
  const s = w.summary();
  t.equal(s.requests, 10);
  t.equal(s.errors, 7);
  t.same(s.errorsByKind, { status5xx: 2, refused: 1, reset: 1, timeout: 1, no_healthy_target: 1, saturated: 1 });
  t.equal(s.errorRate, 7 / 10);
  t.same(s.latencyMs, { p50: 10, p90: 10, p99: 10 }, 'a request with no latency does not count in percentiles');
});

t.test('an empty window', async (t) => {
  const w = new SlidingWindow(60, manualClock());
  t.same(w.summary(), {
    requests: 0,
    errors: 0,
    errorsByKind: { status5xx: 0, refused: 0, reset: 0, timeout: 0, no_healthy_target: 0, saturated: 0 },
    errorRate: 0,
    latencyMs: { p50: null, p90: null, p99: null },
    retries: 0,
  });
});

t.test('retries are counted apart from requests and expire with their second', async (t) => {
  const clock = manualClock();
  const w = new SlidingWindow(10, clock);
  w.record('ok', 5);
  w.recordRetry();
  w.recordRetry();
  t.match(w.summary(), { requests: 1, errors: 0, retries: 2 });
  clock.advance(10_000);
  w.recordRetry();
  t.match(w.summary(), { requests: 0, retries: 1 }, 'the old second left the window');
});

t.test('rollover and expiry by table', async (t) => {
  // One request per second at t = 0..9 s (second i has latency i+1 ms and, if odd, a 5xx).
  // Then look at the window from various later times and spans.
  type Row = [name: string, atSecond: number, span: number | undefined, requests: number, errors: number];
  const rows: Row[] = [
    ['right after the last record, whole window', 9, undefined, 10, 5],
    ['span 1: only the current second', 9, 1, 1, 1],
    ['span 3: seconds 7..9', 9, 3, 3, 2],
    ['span larger than the window is the window', 9, 600, 10, 5],
    ['span 0 counts as 1', 9, 0, 1, 1],
    ['10 s later the first second fell out (window 10)', 10, undefined, 9, 5],
    ['at second 14: 5..9 remain', 14, undefined, 5, 3],
    ['at second 18: only second 9 remains', 18, undefined, 1, 1],
    ['at second 19: everything expired', 19, undefined, 0, 0],
    ['long idle: still empty', 100_000, undefined, 0, 0],
  ];
  for (const [name, atSecond, span, requests, errors] of rows) {
    const clock = manualClock(0);
    const w = new SlidingWindow(10, clock);
    for (let i = 0; i < 10; i++) {
      clock.set(i * 1000 + 500);
      w.record(i % 2 === 1 ? 'status5xx' : 'ok', i + 1);
    }
    clock.set(atSecond * 1000 + 999);
    const s = w.summary(span);
    t.equal(s.requests, requests, `${name}: requests`);
    t.equal(s.errors, errors, `${name}: errors`);
  }
});

t.test('a slot is reused for a newer second and reset first', async (t) => {
  const clock = manualClock(0);
  const w = new SlidingWindow(3, clock);
  w.record('status5xx', 100); // second 0
  clock.set(3_000); // same ring slot as second 0
  w.record('ok', 1);
  const s = w.summary();
  t.equal(s.requests, 1);
  t.equal(s.errors, 0);
  t.same(s.latencyMs, { p50: 1, p90: 1, p99: 1 }, 'the old latency is gone');
});

t.test('percentiles over several seconds match exact values', async (t) => {
  const clock = manualClock(0);
  const w = new SlidingWindow(60, clock);
  const samples: number[] = [];
  for (let sec = 0; sec < 30; sec++) {
    clock.set(sec * 1000);
    for (let i = 1; i <= 100; i++) {
      const ms = 1 + ((sec * 100 + i) % 997) * 0.731; // 1 ms .. ~730 ms, spread over every slot
      samples.push(ms);
      w.record('ok', ms);
    }
  }
  const sorted = samples.sort((a, b) => a - b);
  const exact = (q: number) => sorted[Math.ceil(q * sorted.length) - 1]!;
  const s = w.summary();
  t.equal(s.requests, 3000);
  for (const [key, q] of [['p50', 0.5], ['p90', 0.9], ['p99', 0.99]] as const) {
    const got = s.latencyMs[key]!;
    const err = Math.abs(got - exact(q)) / exact(q);
    t.ok(err <= 0.02, `${key} ${got} vs exact ${exact(q).toFixed(3)} (${(err * 100).toFixed(2)}%)`);
  }
  // The last 5 seconds only.
  const last5 = w.summary(5);
  t.equal(last5.requests, 500);
});

t.test('a clock that steps back ignores slots stamped in the future', async (t) => {
  const clock = manualClock(10_000);
  const w = new SlidingWindow(60, clock);
  w.record('status5xx', 5);
  clock.set(8_000);
  w.record('ok', 5);
  const s = w.summary();
  t.equal(s.requests, 1, 'only what is at or before now counts');
  t.equal(s.errors, 0);
});

t.test('rejects a bad window length', async (t) => {
  for (const bad of [0, -1, 1.5, Number.NaN]) t.throws(() => new SlidingWindow(bad), RangeError, String(bad));
});

t.test('roundMs', async (t) => {
  const rows: [number | null, number | null][] = [
    [null, null],
    [1.23456, 1.23],
    [0.004, 0],
    [799.996, 800],
  ];
  for (const [input, want] of rows) t.equal(roundMs(input), want, String(input));
});

t.test('record allocates nothing per call (heap stays flat over a million records)', async (t) => {
  const clock = manualClock(0);
  const w = new SlidingWindow(60, clock);
  for (let i = 0; i < 10_000; i++) w.record('ok', i % 50); // warm up (JIT, slots)
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 1_000_000; i++) {
    if (i % 1000 === 0) clock.advance(37);
    w.record(i % 13 === 0 ? 'status5xx' : 'ok', (i % 500) + 0.5);
  }
  const grown = process.memoryUsage().heapUsed - before;
  t.ok(grown < 8 * 1024 * 1024, `heap grew ${(grown / 1024).toFixed(0)} KiB over 1e6 records`);
});
