// Exact tests against hand-computed values (closed forms where they exist).
import t, { type Test } from 'tap';
import { binomialUpperTail, fisherUpperTail, logChoose, logGamma } from '../../src/rollout/statistics.ts';

const close = (t: Test, actual: number, expected: number, rel: number, msg: string) =>
  t.ok(Math.abs(actual - expected) <= rel * Math.max(Math.abs(expected), 1e-300), `${msg}: ${actual} ≈ ${expected}`);

t.test('logGamma and logChoose', async (t) => {
  close(t, Math.exp(logGamma(5)), 24, 1e-12, 'Γ(5) = 4!');
  close(t, Math.exp(logGamma(0.5)), Math.sqrt(Math.PI), 1e-12, 'Γ(1/2) = √π');
  close(t, Math.exp(logChoose(10, 3)), 120, 1e-12, 'C(10,3)');
  t.equal(logChoose(3, 5), -Infinity);
  close(t, logChoose(100000, 50000), 69308.6, 1e-5, 'large arguments stay finite');
});

t.test('binomial upper tail', async (t) => {
  const cases: [k: number, n: number, p: number, expected: number, what: string][] = [
    [0, 40, 0.02, 1, 'k = 0 is certain'],
    [1, 40, 0.02, 1 - 0.98 ** 40, '1 − P(0)'],
    [2, 40, 0.02, 1 - 0.98 ** 40 - 40 * 0.02 * 0.98 ** 39, '1 − P(0) − P(1)'],
    [40, 40, 0.5, 0.5 ** 40, 'all of them'],
    [41, 40, 0.5, 0, 'more than n'],
    [1, 10, 0, 0, 'p = 0: any error is impossible'],
    [3, 10, 1, 1, 'p = 1'],
  ];
  for (const [k, n, p, expected, what] of cases) close(t, binomialUpperTail(k, n, p), expected, 1e-9, what);
  // Far tail of a large sample stays accurate (summed away from the mean, not as 1 − big).
  const tiny = binomialUpperTail(300, 10000, 0.02);
  t.ok(tiny > 1e-15 && tiny < 1e-9, `3% of 10 000 against 2% (z ≈ 7): ${tiny}`);
  t.equal(binomialUpperTail(3000, 10000, 0.02), 0, '30% of 10 000 underflows to 0, never NaN');
  close(t, binomialUpperTail(200, 10000, 0.02), 0.5, 0.1, 'at the mean, about one half');
});

t.test('Fisher exact, one-sided', async (t) => {
  // Stable 0/n2, canary 1/n1: P(X ≥ 1) = n1 / (n1 + n2) exactly.
  close(t, fisherUpperTail(1, 40, 0, 1000), 40 / 1040, 1e-9, '1/40 vs 0/1000');
  // 2 of 2 errors both in the canary: C(n1,2)/C(N,2).
  close(t, fisherUpperTail(2, 40, 0, 1000), (40 * 39) / (1040 * 1039), 1e-9, '2/40 vs 0/1000');
  // Lady tasting tea: 3 of 4 in a 4/4 table → p = 17/70.
  close(t, fisherUpperTail(3, 4, 1, 4), 17 / 70, 1e-9, 'tea tasting');
  t.equal(fisherUpperTail(0, 40, 5, 1000), 1, 'no canary errors');
  t.equal(fisherUpperTail(0, 0, 0, 0), 1, 'no data');
  t.ok(fisherUpperTail(30, 100, 0, 1000) < 1e-20, '30% vs none is overwhelming');
  t.ok(fisherUpperTail(10, 1000, 100, 10000) > 0.4, 'same rate is not significant');
  t.ok(fisherUpperTail(3000, 10000, 1000, 100000) < 1e-100, 'large samples stay finite');
});
