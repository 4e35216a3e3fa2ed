// CONTRACT §11 in the state layer: settle() (every commit's rules: the idle colour's clock, a
// manual change cancelling a running verification), and the state file keeping old files loadable
// while reading the new fields strictly.
import t from 'tap';
import { toWeight, ZERO_WEIGHT } from '../../src/domain.ts';
import { checkState, parseStateFile, serializeStateFile } from '../../src/state/file-format.ts';
import type { RoutingState, VerificationRecord } from '../../src/state/model.ts';
import { initialState, settle } from '../../src/state/model.ts';

const AT = '2026-01-01T00:00:00.000Z';
const LATER = '2026-01-01T00:01:00.000Z';
const base = (over: Partial<RoutingState> = {}): RoutingState => ({ ...initialState({ active: 'green', weight: 0 }, AT), ...over });
const running: VerificationRecord = {
  kind: 'turnout-verification/1', id: 'v1', status: 'running', colour: 'green', from: 'blue', flipVersion: 1,
  startedAt: AT, until: LATER, endedAt: null, reason: '',
  settings: { seconds: 60, intervalSeconds: 10, minRequests: 50, maxErrorRate: 0.02, maxP99Ms: 800, maxP99Ratio: 1.5, alpha: 0.01, minErrorRateDelta: 0.005, p99ToleranceMs: 50 },
  baseline: { requests: 10, errors: 0, p99Ms: 12.5, spanSeconds: 60 },
  verdicts: [{ at: AT, result: 'inconclusive', reasons: ['requests: green 1 < minRequests 50'], sample: { requests: 1, errors: 0, p99Ms: null, spanSeconds: 2 } }],
};

t.test('settle: a change of active colour restarts the idle clock, free false', async (t) => {
  const before = base({ idle: { since: AT, free: true } });
  const flipped = settle(before, { ...before, active: 'blue' }, { action: 'flip', actor: 'a', version: 1 }, LATER);
  t.same(flipped.idle, { since: LATER, free: false });
  const weighted = settle(before, { ...before, weight: toWeight(5) }, { action: 'weight', actor: 'a', version: 1 }, LATER);
  t.same(weighted.idle, { since: AT, free: true }, 'no change of active colour: untouched');
});

t.test('settle: which changes cancel a running verification', async (t) => {
  const rows: [string, boolean][] = [
    ['weight', true], ['flip', true], ['rollback', true], ['rollout.start', true], ['rollout.promote', true],
    ['flip.revert', false], ['flip.verified', false], ['shadow', false],
  ];
  const before = base({ verification: running });
  for (const [action, cancels] of rows) {
    const next = settle(before, { ...before, weight: toWeight(1) }, { action, actor: 'bob', version: 7 }, LATER);
    if (cancels) t.same(next.verification, { ...running, status: 'cancelled', endedAt: LATER, reason: `cancelled by a manual ${action} (version 7, by bob)` }, action);
    else t.equal(next.verification, running, `${action} does not cancel`);
  }
  const superseded = settle(before, { ...before }, { action: 'rollout.abort', actor: 'rollout', version: 8 }, LATER);
  t.equal(superseded.verification, running, 'a rollout.abort that changes no routing (a superseded rollout ended) does not cancel');
  const replaced = { ...running, id: 'v2' };
  t.equal(settle(before, { ...before, verification: replaced }, { action: 'flip', actor: 'a', version: 2 }, LATER).verification, replaced, 'a flip carrying a new period replaces it');
  const ended = { ...running, status: 'verified' as const };
  t.equal(settle(base({ verification: ended }), base({ verification: ended, weight: toWeight(3) }), { action: 'weight', actor: 'a', version: 2 }, LATER).verification, ended, 'an ended one stays as it ended');
});

t.test('state files: written before §11 still load; the new fields round-trip and are checked', async (t) => {
  const old = JSON.stringify({ format: 'turnout-state/1', state: { version: 3, active: 'blue', weight: 0, updatedAt: AT, flips: [], rollout: null }, events: [] });
  const loaded = parseStateFile(old);
  t.equal(loaded.state.idle, undefined);
  t.equal(loaded.state.verification, undefined);

  const state = base({ idle: { since: AT, free: true }, verification: running });
  const event = { at: LATER, version: 2, action: 'flip.revert' as const, from: { active: 'green' as const, weight: ZERO_WEIGHT }, to: { active: 'blue' as const, weight: ZERO_WEIGHT }, actor: 'verify', reason: 'errorRate: …' };
  const back = parseStateFile(serializeStateFile(state, [event]));
  t.same(back.state, state);
  t.same(back.events, [event], 'flip.revert is a known action');
  t.same(JSON.parse(JSON.stringify(state)), state, 'plain JSON (what a Redis store keeps)');

  const bad: [unknown, RegExp][] = [
    [{ ...state, idle: { since: AT, free: 'yes' } }, /state\.idle\.free must be true or false/],
    [{ ...state, verification: { ...running, status: 'done' } }, /state\.verification\.status must be one of running, verified, reverted, cancelled/],
    [{ ...state, verification: { ...running, settings: { ...running.settings, seconds: '60' } } }, /state\.verification\.settings\.seconds must be a number/],
    [{ ...state, verification: { ...running, verdicts: [{ ...running.verdicts[0], result: 'maybe' }] } }, /state\.verification\.verdicts\[0\]\.result/],
  ];
  for (const [value, message] of bad) t.throws(() => checkState(value), { message }, String(message));
  t.equal(checkState({ ...state, verification: null }).verification, null);
});
