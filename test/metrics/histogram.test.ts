// The log-bucketed histogram against exact nearest-rank quantiles of the same samples.
import t from 'tap';
import { BUCKET_COUNT, LatencyHistogram, MAX_MS, MIN_MS, bucketOf } from '../../src/metrics/histogram.ts';

/** Exact nearest-rank quantile: the ⌈q·n⌉-th smallest sample. */
function exact(samples: readonly number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

/** A seeded PRNG (mulberry32) so the distributions are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const rnd = prng(42);
const distributions: [string, number[]][] = [
  ['one sample', [12.5]],
  ['constant', Array.from({ length: 100 }, () => 3)],
  ['uniform 1..100 ms', Array.from({ length: 5000 }, () => 1 + rnd() * 99)],
  ['log-normal around 20 ms', Array.from({ length: 5000 }, () => Math.exp(Math.log(20) + 0.8 * Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd())))],
  ['bimodal 2 ms / 900 ms', Array.from({ length: 1000 }, (_, i) => (i % 10 === 0 ? 900 + rnd() * 50 : 2 + rnd())),],
  ['sub-millisecond', Array.from({ length: 1000 }, () => 0.05 + rnd() * 0.5)],
  ['long tail to 2 minutes', Array.from({ length: 2000 }, (_, i) => (i < 1990 ? 5 + rnd() * 5 : 60_000 + rnd() * 60_000))],
];

t.test('quantiles are within 1% of the exact nearest-rank values', async (t) => {
  for (const [name, samples] of distributions) {
    const h = new LatencyHistogram();
    for (const s of samples) h.record(s);
    t.equal(h.count, samples.length, `${name}: count`);
    for (const q of [0.5, 0.9, 0.99, 0.999]) {
      const want = exact(samples, q);
      const got = h.quantile(q)!;
      const err = Math.abs(got - want) / want;
      t.ok(err <= 0.01, `${name}: p${q * 100} = ${got.toFixed(4)} vs exact ${want.toFixed(4)} (error ${(err * 100).toFixed(3)}%)`);
    }
    t.equal(h.quantile(0), Math.min(...samples), `${name}: q=0 is the exact min`);
    t.equal(h.quantile(1), Math.max(...samples), `${name}: q=1 is the exact max`);
  }
});

t.test('merge equals recording everything into one histogram', async (t) => {
  const a = new LatencyHistogram();
  const b = new LatencyHistogram();
  const all = new LatencyHistogram();
  distributions[2]![1].forEach((s, i) => {
    (i % 3 === 0 ? a : b).record(s);
    all.record(s);
  });
  const merged = new LatencyHistogram();
  merged.merge(a);
  merged.merge(b);
  merged.merge(new LatencyHistogram()); // empty: no effect
  t.same(Array.from(merged.counts), Array.from(all.counts));
  t.equal(merged.count, all.count);
  t.equal(merged.min, all.min);
  t.equal(merged.max, all.max);
  for (const q of [0.5, 0.9, 0.99]) t.equal(merged.quantile(q), all.quantile(q));
});

t.test('reset empties it, and only the used range is touched', async (t) => {
  const h = new LatencyHistogram();
  t.equal(h.quantile(0.5), null, 'empty → null');
  h.record(5);
  h.record(500);
  t.ok(h.lo <= bucketOf(5) && h.hi >= bucketOf(500));
  h.reset();
  t.equal(h.count, 0);
  t.equal(h.quantile(0.99), null);
  t.equal(h.counts.reduce((s, c) => s + c, 0), 0, 'every bucket is zero');
  h.record(7);
  t.equal(h.quantile(0.5), 7, 'reusable after reset');
});

t.test('edge values', async (t) => {
  const rows: [string, number, number][] = [
    ['zero → underflow bucket', 0, 0],
    ['negative → 0', -5, 0],
    ['NaN → 0', Number.NaN, 0],
    ['below MIN_MS → underflow', MIN_MS / 2, 0],
    ['MIN_MS → first log bucket', MIN_MS, 1],
    ['beyond MAX_MS → last bucket', MAX_MS * 10, BUCKET_COUNT - 1],
  ];
  for (const [name, value, bucket] of rows) t.equal(bucketOf(value), bucket, name);
  t.ok(BUCKET_COUNT < 1000, `fixed and small: ${BUCKET_COUNT} buckets`);

  const h = new LatencyHistogram();
  h.record(-1);
  h.record(Number.NaN);
  h.record(0.001);
  t.equal(h.count, 3);
  t.equal(h.quantile(0.5), 0, 'tiny values are reported within MIN_MS');
  const huge = new LatencyHistogram();
  huge.record(MAX_MS * 2);
  t.equal(huge.quantile(0.99), MAX_MS * 2, 'an overflow sample alone is its exact value');
});
