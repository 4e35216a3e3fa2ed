// analyse() by table: canary window, stable window, thresholds → verdict and the metric it names.
import t from 'tap';
import { analyse } from '../../src/rollout/analysis.ts';
import { ANALYSIS_DEFAULTS, type AnalysisSettings, type WindowSample } from '../../src/rollout/types.ts';

const w = (requests: number, errors: number, p99Ms: number | null = 50): WindowSample => ({ requests, errors, p99Ms });
const settings = (over: Partial<AnalysisSettings> = {}): AnalysisSettings => ({ ...ANALYSIS_DEFAULTS, minRequests: 20, ...over });

interface Row {
  name: string;
  canary: WindowSample;
  stable: WindowSample;
  over?: Partial<AnalysisSettings>;
  result: 'pass' | 'fail' | 'inconclusive';
  /** The metric the deciding reason must name (first reason). */
  metric?: string;
  /** Strings that must appear in the first reason (both values). */
  mentions?: string[];
}

const rows: Row[] = [
  { name: 'healthy canary, healthy stable', canary: w(500, 0), stable: w(9500, 0), result: 'pass' },
  { name: 'same small error rate as stable', canary: w(500, 5), stable: w(9500, 95), result: 'pass' },
  // Tiny samples
  { name: 'no traffic at all holds', canary: w(0, 0, null), stable: w(0, 0, null), result: 'inconclusive', metric: 'requests' },
  { name: 'fewer than minRequests holds, even with errors', canary: w(19, 19), stable: w(1000, 0), result: 'inconclusive', metric: 'requests', mentions: ['19', '20'] },
  { name: 'minRequests 0 and no traffic passes', canary: w(0, 0, null), stable: w(0, 0, null), over: { minRequests: 0 }, result: 'pass' },
  {
    name: '1 error in 40 does not abort (2.5% is not significantly above 2%, nor above a clean stable)',
    canary: w(40, 1),
    stable: w(1000, 0),
    result: 'inconclusive',
    metric: 'errorRate',
    mentions: ['1/40', '0.02'],
  },
  { name: '1 error in 40 against a stable at 1%', canary: w(40, 1), stable: w(1000, 10), over: { maxErrorRate: 0.05 }, result: 'pass' },
  { name: '30% errors aborts', canary: w(100, 30), stable: w(2000, 0), result: 'fail', metric: 'errorRate', mentions: ['30/100', '0/2000', '0.02'] },
  { name: '30% errors in a small sample still aborts', canary: w(20, 6), stable: w(400, 0), result: 'fail', metric: 'errorRate' },
  // All-zero stable with a few canary errors: never waved through by a ratio that divides by zero.
  {
    name: 'all-zero stable, canary 3/100 under a lax absolute limit → relative test fails',
    canary: w(100, 3),
    stable: w(5000, 0),
    over: { maxErrorRate: 0.1 },
    result: 'fail',
    metric: 'errorRateVsStable',
    mentions: ['3/100', '0/5000', 'Fisher'],
  },
  {
    name: 'all-zero stable, canary 2/60 (3.3%) → fails on stable even with a lax absolute limit',
    canary: w(60, 2),
    stable: w(3000, 0),
    over: { maxErrorRate: 0.5 },
    result: 'fail',
    metric: 'errorRateVsStable',
  },
  { name: 'all-zero stable with little traffic is not compared', canary: w(100, 3), stable: w(10, 0), over: { maxErrorRate: 0.1 }, result: 'pass' },
  { name: 'one error over a clean stable is within the delta', canary: w(1000, 1), stable: w(20000, 0), result: 'pass' },
  { name: 'maxErrorRate 0 tolerates no error', canary: w(100, 1), stable: w(100, 0), over: { maxErrorRate: 0, minErrorRateDelta: 1 }, result: 'fail', metric: 'errorRate' },
  { name: 'above the limit but not significantly holds the step', canary: w(50, 3), stable: w(50, 3), result: 'inconclusive', metric: 'errorRate' },
  // Latency
  { name: 'p99 above maxP99Ms aborts', canary: w(100, 0, 950), stable: w(1000, 0, 900), over: { maxP99Ratio: 10 }, result: 'fail', metric: 'p99Ms', mentions: ['950ms', '900ms', '800ms'] },
  { name: '300 ms slower than stable aborts on the ratio', canary: w(100, 0, 305), stable: w(1000, 0, 5), result: 'fail', metric: 'p99Ratio', mentions: ['305ms', '5ms', '1.5'] },
  { name: 'slower but within the ratio passes', canary: w(100, 0, 140), stable: w(1000, 0, 100), result: 'pass' },
  { name: 'tiny latencies: 4 ms vs 2 ms is noise, not a regression', canary: w(100, 0, 4), stable: w(1000, 0, 2), result: 'pass' },
  { name: 'stable p99 of 0 ms and a slow canary fails', canary: w(100, 0, 300), stable: w(1000, 0, 0), result: 'fail', metric: 'p99Ratio' },
  { name: 'no stable traffic: ratio not compared (weight 100)', canary: w(1000, 0, 300), stable: w(0, 0, null), result: 'pass' },
  { name: 'errors and latency both failing: both named', canary: w(100, 40, 2000), stable: w(1000, 0, 10), result: 'fail', metric: 'errorRate' },
];

for (const row of rows) {
  t.test(row.name, async (t) => {
    const v = analyse(row.canary, row.stable, settings(row.over));
    t.equal(v.result, row.result, v.reasons.join(' | '));
    t.ok(v.reasons.length > 0, 'always says why');
    if (row.metric) t.match(v.reasons[0], new RegExp(`^${row.metric}:`), 'the first reason names the metric');
    for (const m of row.mentions ?? []) t.match(v.reasons[0], m, `mentions ${m}`);
    t.same(v.canary, row.canary);
    t.same(v.stable, row.stable);
  });
}

t.test('a failing verdict lists every failing metric first', async (t) => {
  const v = analyse(w(100, 40, 2000), w(1000, 0, 10), settings());
  const failing = v.checks.filter((c) => c.result === 'fail').map((c) => c.metric);
  t.same(failing, ['errorRate', 'errorRateVsStable', 'p99Ms', 'p99Ratio']);
  t.equal(v.reasons.length, 4);
});

t.test('a passing verdict reports every check', async (t) => {
  const v = analyse(w(500, 0, 20), w(5000, 0, 20), settings());
  t.same(v.checks.map((c) => c.metric), ['requests', 'errorRate', 'errorRateVsStable', 'p99Ms', 'p99Ratio']);
  t.equal(v.reasons.length, 5);
});
