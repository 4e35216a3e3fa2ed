// Exact one-sided tests on counts, for judging a canary's error rate without being fooled by
// tiny samples: a binomial test against an absolute limit, and Fisher's exact test against the
// stable colour (valid when stable has zero errors, where ratio tests divide by zero and
// normal approximations are wrong). Pure functions, no dependencies.

// Lanczos approximation (g = 7, n = 9): |error| < 1e-14 for x > 0, plenty for p-values.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** ln C(n, k) for integers 0 ≤ k ≤ n. */
export function logChoose(n: number, k: number): number {
  if (k < 0 || k > n) return -Infinity;
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

function clampP(p: number): number {
  return Math.min(1, Math.max(0, p));
}

/**
 * Sums pmf(i) for i from `start` stepping by `dir` while in [lo, hi], stopping once terms are
 * negligible (past the mode the terms only shrink, and we always sum away from the mode).
 */
function tailSum(logPmf: (i: number) => number, start: number, dir: 1 | -1, lo: number, hi: number): number {
  let sum = 0;
  for (let i = start; i >= lo && i <= hi; i += dir) {
    const term = Math.exp(logPmf(i));
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/** P(X ≥ k) for X ~ Binomial(n, p): how surprising k or more errors in n are if the true rate were p. */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  const logPmf = (i: number) => logChoose(n, i) + i * lp + (n - i) * lq;
  // Sum the smaller tail, away from the mean, for accuracy.
  if (k > n * p) return clampP(tailSum(logPmf, k, 1, 0, n));
  return clampP(1 - tailSum(logPmf, k - 1, -1, 0, n));
}

/**
 * One-sided Fisher exact test: the p-value that the canary's error rate exceeds the stable one by
 * chance, i.e. P(X ≥ canaryErrors) for X hypergeometric with the observed margins
 * (N = both samples, K = all errors, n = canary requests).
 */
export function fisherUpperTail(canaryErrors: number, canaryRequests: number, stableErrors: number, stableRequests: number): number {
  const n = canaryRequests;
  const N = canaryRequests + stableRequests;
  const K = canaryErrors + stableErrors;
  if (n <= 0 || K <= 0) return 1;
  const lo = Math.max(0, n - (N - K));
  const hi = Math.min(K, n);
  if (canaryErrors <= lo) return 1;
  if (canaryErrors > hi) return 0;
  const logDenominator = logChoose(N, n);
  const logPmf = (i: number) => logChoose(K, i) + logChoose(N - K, n - i) - logDenominator;
  const mean = (n * K) / N;
  if (canaryErrors > mean) return clampP(tailSum(logPmf, canaryErrors, 1, lo, hi));
  return clampP(1 - tailSum(logPmf, canaryErrors - 1, -1, lo, hi));
}
