// The pure parts of CONTRACT §11, by table: verdicts (the rollout analysis, relabelled with the
// colours), what a verdict decides, and the strict parsing of `verify`.
import t from 'tap';
import { decide, judge } from '../../src/rollout/verification-record.ts';
import { parseVerify, VERIFY_DEFAULTS } from '../../src/rollout/verification-spec.ts';
import type { VerifySettings } from '../../src/state/model.ts';

const settings: VerifySettings = { ...VERIFY_DEFAULTS, seconds: 30, minRequests: 20, maxErrorRate: 0.02, maxP99Ms: 800, maxP99Ratio: 1.5 };
const baseline: { requests: number; errors: number; p99Ms: number | null; spanSeconds: number } = { requests: 1000, errors: 0, p99Ms: 20, spanSeconds: 60 };
const r = { colour: 'green' as const, from: 'blue' as const, settings, baseline };
const NOW = Date.parse('2026-01-01T00:00:10.000Z');

t.test('verdicts', async (t) => {
  const rows: { name: string; sample: { requests: number; errors: number; p99Ms: number | null }; base?: typeof baseline; result: string; reason?: RegExp }[] = [
    { name: 'healthy', sample: { requests: 100, errors: 0, p99Ms: 25 }, result: 'pass' },
    { name: 'fewer than minRequests: inconclusive, even all errors', sample: { requests: 19, errors: 19, p99Ms: 5000 }, result: 'inconclusive', reason: /^requests: green 19 < minRequests 20 \(blue before the flip 1000\)/ },
    { name: '30% errors fails on the absolute limit', sample: { requests: 100, errors: 30, p99Ms: 20 }, result: 'fail', reason: /^errorRate: green 0\.3 \(30\/100\), blue before the flip 0 \(0\/1000\); above maxErrorRate 0\.02 \(p=/ },
    { name: '1 error in 40 is not evidence above 2%', sample: { requests: 40, errors: 1, p99Ms: 20 }, result: 'inconclusive', reason: /not significantly/ },
    { name: 'p99 above maxP99Ms', sample: { requests: 100, errors: 0, p99Ms: 900 }, result: 'fail', reason: /^p99Ms: green 900ms, blue before the flip 20ms; above maxP99Ms 800ms/ },
    { name: 'p99 ratio against the old colour', sample: { requests: 100, errors: 0, p99Ms: 200 }, result: 'fail', reason: /^p99Ratio: green 200ms vs blue before the flip 20ms = 10; above maxP99Ratio 1\.5/ },
    { name: 'small latencies within the tolerance are noise', sample: { requests: 100, errors: 0, p99Ms: 60 }, result: 'pass' },
    { name: 'errors where the old colour had none (Fisher)', sample: { requests: 1000, errors: 15, p99Ms: 20 }, result: 'fail', reason: /^errorRateVsStable: green 0\.015 \(15\/1000\) vs blue before the flip 0 \(0\/1000\); significantly above/ },
    { name: 'an old colour without traffic is not compared', sample: { requests: 100, errors: 1, p99Ms: 200 }, base: { requests: 0, errors: 0, p99Ms: null, spanSeconds: 60 }, result: 'pass' },
  ];
  for (const row of rows) {
    const v = judge({ ...r, baseline: row.base ?? baseline }, { ...row.sample, spanSeconds: 10 }, NOW);
    t.equal(v.result, row.result, row.name);
    t.equal(v.at, '2026-01-01T00:00:10.000Z');
    if (row.reason) t.match(v.reasons[0], row.reason, `${row.name}: ${v.reasons[0]}`);
    if (v.result === 'fail') t.ok(v.reasons.every((x) => !/^requests/.test(x)), `${row.name}: a failure names only what failed`);
    t.notMatch(v.reasons.join(' '), /\b(canary|stable)\b/, `${row.name}: the colours are named`);
  }
});

t.test('decisions', async (t) => {
  const until = '2026-01-01T00:00:30.000Z';
  const at = (s: number) => Date.parse('2026-01-01T00:00:00.000Z') + s * 1000;
  const rows: [string, number, string][] = [
    ['fail', 10, 'revert'],
    ['fail', 40, 'revert'],
    ['pass', 10, 'wait'],
    ['pass', 30, 'verify'],
    ['pass', 90, 'verify'],
    ['inconclusive', 10, 'wait'],
    ['inconclusive', 30, 'wait'],
    ['inconclusive', 3600, 'wait'],
  ];
  for (const [result, s, expected] of rows) t.equal(decide({ until }, { result: result as 'pass' }, at(s)), expected, `${result} at ${s}s → ${expected}`);
});

t.test('parseVerify: strict, field by field over the config default and the built-ins', async (t) => {
  t.equal(parseVerify(undefined, null), null, 'absent and no default: no period');
  t.equal(parseVerify(false, { seconds: 10 }), null, 'false skips the default');
  t.same(parseVerify(undefined, { seconds: 10, minRequests: 5 }), { ...VERIFY_DEFAULTS, seconds: 10, minRequests: 5 });
  t.same(parseVerify({ seconds: 5, maxErrorRate: 0.1 }, { seconds: 10, minRequests: 5 }), { ...VERIFY_DEFAULTS, seconds: 5, minRequests: 5, maxErrorRate: 0.1 });
  t.same(parseVerify({ seconds: 5 }, null), { ...VERIFY_DEFAULTS, seconds: 5 });
  const bad: [unknown, string][] = [
    [{}, 'body.verify.seconds is required (no routing.verify default in the config)'],
    [{ seconds: '5' }, 'body.verify.seconds must be a number'],
    [{ seconds: 0 }, 'body.verify.seconds must be >= 1'],
    [{ seconds: 1e9 }, 'body.verify.seconds must be <= 604800'],
    [{ seconds: 5, intervalSeconds: 0 }, 'body.verify.intervalSeconds must be > 0'],
    [{ seconds: 5, minRequests: 1.5 }, 'body.verify.minRequests must be an integer'],
    [{ seconds: 5, maxErrorRate: 2 }, 'body.verify.maxErrorRate must be <= 1'],
    [{ seconds: 5, maxP99Ratio: 0.5 }, 'body.verify.maxP99Ratio must be >= 1'],
    [{ seconds: 5, maxP99Ms: null }, 'body.verify.maxP99Ms must be a number'],
    [{ seconds: 5, colour: 'green' }, 'body.verify.colour is not allowed (known fields: seconds, intervalSeconds, minRequests, maxErrorRate, maxP99Ms, maxP99Ratio, alpha, minErrorRateDelta, p99ToleranceMs)'],
    [300, 'body.verify must be an object such as { "seconds": 300 }, or false'],
    [true, 'body.verify must be an object such as { "seconds": 300 }, or false'],
    [null, 'body.verify must be an object such as { "seconds": 300 }, or false'],
  ];
  for (const [value, message] of bad) {
    t.throws(() => parseVerify(value, null), { code: 'TURNOUT_ERR_BAD_REQUEST', statusCode: 400, message }, JSON.stringify(value));
  }
});
