// The analysis: a pure function from the canary's window, the stable colour's window (the same
// time span) and the thresholds to a verdict. Each check names its metric and both values so an
// abort's reason tells the operator what went wrong without opening a dashboard.
//
// Error rates are judged by exact tests, not by comparing point estimates: 1 error in 40
// requests (2.5%) is not evidence that the true rate exceeds 2%, while 30 in 100 is. An observed
// rate above `maxErrorRate` that is not yet significant holds the step (inconclusive) until more
// traffic decides it. Against the stable colour, Fisher's exact test is used, so a canary that
// errors while stable has none is caught (a ratio would divide by zero).
import { binomialUpperTail, fisherUpperTail } from './statistics.ts';
import type { AnalysisSettings, Check, Verdict, VerdictResult, WindowSample } from './types.ts';

function rate(s: WindowSample): number {
  return s.requests > 0 ? s.errors / s.requests : 0;
}

function fmtRate(s: WindowSample): string {
  return `${round(rate(s), 4)} (${s.errors}/${s.requests})`;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function fmtP(p: number): string {
  return p < 0.0001 ? p.toExponential(1) : String(round(p, 4));
}

function fmtMs(ms: number | null): string {
  return ms === null ? 'n/a' : `${round(ms, 1)}ms`;
}

function checkRequests(canary: WindowSample, stable: WindowSample, s: AnalysisSettings): Check {
  const ok = canary.requests >= s.minRequests;
  return {
    metric: 'requests',
    result: ok ? 'pass' : 'inconclusive',
    reason: ok
      ? `requests: canary ${canary.requests} ≥ minRequests ${s.minRequests} (stable ${stable.requests})`
      : `requests: canary ${canary.requests} < minRequests ${s.minRequests} (stable ${stable.requests}): not enough traffic to judge`,
  };
}

function checkErrorRate(canary: WindowSample, stable: WindowSample, s: AnalysisSettings): Check {
  const observed = rate(canary);
  const both = `canary ${fmtRate(canary)}, stable ${fmtRate(stable)}`;
  if (observed <= s.maxErrorRate) {
    return { metric: 'errorRate', result: 'pass', reason: `errorRate: ${both}; within maxErrorRate ${s.maxErrorRate}` };
  }
  const p = binomialUpperTail(canary.errors, canary.requests, s.maxErrorRate);
  if (p < s.alpha) {
    return {
      metric: 'errorRate',
      result: 'fail',
      reason: `errorRate: ${both}; above maxErrorRate ${s.maxErrorRate} (p=${fmtP(p)} < ${s.alpha})`,
    };
  }
  return {
    metric: 'errorRate',
    result: 'inconclusive',
    reason: `errorRate: ${both}; above maxErrorRate ${s.maxErrorRate} but not significantly (p=${fmtP(p)} ≥ ${s.alpha})`,
  };
}

function checkErrorRateVsStable(canary: WindowSample, stable: WindowSample, s: AnalysisSettings): Check {
  const both = `canary ${fmtRate(canary)} vs stable ${fmtRate(stable)}`;
  if (stable.requests < s.minRequests) {
    return {
      metric: 'errorRateVsStable',
      result: 'pass',
      reason: `errorRateVsStable: ${both}; not compared (stable has fewer than ${s.minRequests} requests)`,
    };
  }
  const delta = rate(canary) - rate(stable);
  if (delta <= s.minErrorRateDelta) {
    return {
      metric: 'errorRateVsStable',
      result: 'pass',
      reason: `errorRateVsStable: ${both}; not above stable by more than ${s.minErrorRateDelta}`,
    };
  }
  const p = fisherUpperTail(canary.errors, canary.requests, stable.errors, stable.requests);
  if (p < s.alpha) {
    return {
      metric: 'errorRateVsStable',
      result: 'fail',
      reason: `errorRateVsStable: ${both}; significantly above stable (Fisher p=${fmtP(p)} < ${s.alpha})`,
    };
  }
  return {
    metric: 'errorRateVsStable',
    result: 'pass',
    reason: `errorRateVsStable: ${both}; above stable but not significantly (Fisher p=${fmtP(p)} ≥ ${s.alpha})`,
  };
}

function checkP99(canary: WindowSample, stable: WindowSample, s: AnalysisSettings): Check {
  const both = `canary ${fmtMs(canary.p99Ms)}, stable ${fmtMs(stable.p99Ms)}`;
  if (canary.p99Ms !== null && canary.p99Ms > s.maxP99Ms) {
    return { metric: 'p99Ms', result: 'fail', reason: `p99Ms: ${both}; above maxP99Ms ${s.maxP99Ms}ms` };
  }
  return { metric: 'p99Ms', result: 'pass', reason: `p99Ms: ${both}; within maxP99Ms ${s.maxP99Ms}ms` };
}

function checkP99Ratio(canary: WindowSample, stable: WindowSample, s: AnalysisSettings): Check {
  const both = `canary ${fmtMs(canary.p99Ms)} vs stable ${fmtMs(stable.p99Ms)}`;
  if (stable.requests < s.minRequests || stable.p99Ms === null || canary.p99Ms === null) {
    return {
      metric: 'p99Ratio',
      result: 'pass',
      reason: `p99Ratio: ${both}; not compared (stable has fewer than ${s.minRequests} requests)`,
    };
  }
  const ratio = stable.p99Ms > 0 ? canary.p99Ms / stable.p99Ms : canary.p99Ms > 0 ? Infinity : 1;
  const shown = Number.isFinite(ratio) ? String(round(ratio, 2)) : '∞';
  // A ratio of tiny latencies (2ms vs 4ms) is noise: the excess must also exceed the tolerance.
  if (ratio > s.maxP99Ratio && canary.p99Ms - stable.p99Ms > s.p99ToleranceMs) {
    return { metric: 'p99Ratio', result: 'fail', reason: `p99Ratio: ${both} = ${shown}; above maxP99Ratio ${s.maxP99Ratio}` };
  }
  return { metric: 'p99Ratio', result: 'pass', reason: `p99Ratio: ${both} = ${shown}; within maxP99Ratio ${s.maxP99Ratio}` };
}

/**
 * Judges the canary. Fewer than `minRequests` canary requests → inconclusive without further
 * checks (CONTRACT §4: the step holds). Otherwise any failing check fails the verdict, else any
 * inconclusive one holds it, else it passes. `reasons` lists the deciding checks (all of them on a pass).
 */
export function analyse(canary: WindowSample, stable: WindowSample, settings: AnalysisSettings): Verdict {
  const requests = checkRequests(canary, stable, settings);
  if (requests.result !== 'pass') {
    return { result: 'inconclusive', reasons: [requests.reason], checks: [requests], canary, stable };
  }
  const checks = [
    requests,
    checkErrorRate(canary, stable, settings),
    checkErrorRateVsStable(canary, stable, settings),
    checkP99(canary, stable, settings),
    checkP99Ratio(canary, stable, settings),
  ];
  const worst = (r: VerdictResult) => checks.filter((c) => c.result === r);
  const failed = worst('fail');
  const held = worst('inconclusive');
  const result: VerdictResult = failed.length > 0 ? 'fail' : held.length > 0 ? 'inconclusive' : 'pass';
  const deciding = result === 'pass' ? checks : [...failed, ...held];
  return { result, reasons: deciding.map((c) => c.reason), checks, canary, stable };
}
