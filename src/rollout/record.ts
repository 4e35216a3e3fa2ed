// Pure rollout transitions on the routing state: each takes the committed state and returns the
// next state with its event (model.Transition), ready for StateManager.commit(). The rollout is
// persisted in RoutingState.rollout with the routing it drives, so both change in one versioned,
// audited commit, exactly like a human's change. A transition that cannot apply throws a
// TurnoutError (409) and nothing changes.
import { FULL_WEIGHT, otherColour, ZERO_WEIGHT, type Weight } from '../domain.ts';
import { TurnoutError } from '../errors.ts';
import type { RoutingState, Transition } from '../state/model.ts';
import * as model from '../state/model.ts';
import type { RecordedVerdict, RolloutRecord, RolloutSpec, RolloutStatus, RolloutView } from './types.ts';
import { isActive } from './types.ts';

export const RECORD_KIND = 'turnout-rollout/1';
/** Verdicts kept in the record and in memory (newest last). */
export const MAX_VERDICTS = 20;

const STATUSES: ReadonlySet<string> = new Set<RolloutStatus>(['running', 'paused', 'promoted', 'aborted']);

/** The rollout record held in a state, or null (none ever ran, or an unrecognised shape). */
export function recordOf(state: Pick<RoutingState, 'rollout'>): RolloutRecord | null {
  const r = state.rollout as Partial<RolloutRecord> | null | undefined;
  if (r === null || typeof r !== 'object' || r.kind !== RECORD_KIND || !STATUSES.has(String(r.status))) return null;
  return r as RolloutRecord;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function pct(w: number): string {
  return `${w}%`;
}

function activeRecord(current: RoutingState): RolloutRecord {
  const r = recordOf(current);
  if (r === null) throw new TurnoutError('TURNOUT_ERR_NOT_FOUND', 'no rollout has run');
  if (!isActive(r.status)) throw new TurnoutError('TURNOUT_ERR_CONFLICT', `the rollout is ${r.status}, not running or paused`);
  return r;
}

function withHistory(history: readonly RecordedVerdict[] | undefined, r: RolloutRecord): readonly RecordedVerdict[] {
  return (history ?? r.analysisHistory).slice(-MAX_VERDICTS);
}

/** Starts a rollout: the idle colour becomes the canary at the first step's weight. 409 if one is running or paused. */
export function startRollout(current: RoutingState, spec: RolloutSpec, id: string, now: number, reason = ''): Transition {
  const existing = recordOf(current);
  if (existing !== null && isActive(existing.status)) {
    throw new TurnoutError('TURNOUT_ERR_CONFLICT', `rollout ${existing.id} is ${existing.status}; abort or promote it first`);
  }
  const first = spec.steps[0]!;
  const at = iso(now);
  const canary = otherColour(current.active);
  const record: RolloutRecord = {
    kind: RECORD_KIND,
    id,
    status: 'running',
    canary,
    stable: current.active,
    steps: spec.steps,
    analysis: spec.analysis,
    onSuccess: spec.onSuccess,
    step: 0,
    startedAt: at,
    stepStartedAt: at,
    analysisSince: at,
    pausedAt: null,
    endedAt: null,
    reason: '',
    analysisHistory: [],
  };
  if (spec.analysis.maxShadowMismatchRate !== undefined) {
    // CONTRACT §9: hold at 0% with shadowing on until the comparison has judged the canary.
    const gated: RolloutRecord = { ...record, shadowGate: { since: at } };
    const shadow = (current.shadow?.percent ?? 0) > 0 ? current.shadow : { percent: 100 };
    return {
      state: { ...current, weight: ZERO_WEIGHT, rollout: gated, ...(shadow ? { shadow } : {}) },
      event: {
        action: 'rollout.start',
        reason: `rollout ${id}: ${canary} canary held at 0% with shadowing at ${shadow?.percent}% until maxShadowMismatchRate ${spec.analysis.maxShadowMismatchRate} is met${reason ? `: ${reason}` : ''}`,
      },
    };
  }
  return {
    state: { ...current, weight: first.weight, rollout: record },
    event: {
      action: 'rollout.start',
      reason: `rollout ${id}: ${canary} canary, step 1/${spec.steps.length} at ${pct(first.weight)} for ${first.holdSeconds}s${reason ? `: ${reason}` : ''}`,
    },
  };
}

/** The shadow gate passed (CONTRACT §9): step 1 begins now, at its weight. */
export function passShadowGate(current: RoutingState, now: number, reason: string): Transition {
  const r = activeRecord(current);
  if (!r.shadowGate) throw new TurnoutError('TURNOUT_ERR_CONFLICT', 'the rollout is not held by a shadow gate');
  const first = r.steps[0]!;
  const at = iso(now);
  const record: RolloutRecord = { ...r, shadowGate: null, stepStartedAt: at, analysisSince: at };
  return {
    state: { ...current, weight: first.weight, rollout: record },
    event: { action: 'rollout.step', reason: `rollout ${r.id}: ${reason}; step 1/${r.steps.length} at ${pct(first.weight)} for ${first.holdSeconds}s` },
  };
}

/** Moves to the next step (not past the last: the last one promotes). */
export function advanceRollout(current: RoutingState, now: number, reason: string, history?: readonly RecordedVerdict[]): Transition {
  const r = activeRecord(current);
  if (r.status !== 'running') throw new TurnoutError('TURNOUT_ERR_CONFLICT', 'the rollout is paused');
  const index = r.step + 1;
  const next = r.steps[index];
  if (next === undefined) throw new TurnoutError('TURNOUT_ERR_CONFLICT', 'the rollout is at its last step; promote it');
  const at = iso(now);
  const record: RolloutRecord = {
    ...r,
    step: index,
    stepStartedAt: at,
    analysisSince: at,
    analysisHistory: withHistory(history, r),
  };
  return {
    state: { ...current, weight: next.weight, rollout: record },
    event: {
      action: 'rollout.step',
      reason: `rollout ${r.id}: step ${index + 1}/${r.steps.length} at ${pct(next.weight)} for ${next.holdSeconds}s${reason ? ` (${reason})` : ''}`,
    },
  };
}

export function pauseRollout(current: RoutingState, now: number, reason: string, history?: readonly RecordedVerdict[]): Transition {
  const r = activeRecord(current);
  if (r.status === 'paused') throw new TurnoutError('TURNOUT_ERR_CONFLICT', 'the rollout is already paused');
  const record: RolloutRecord = { ...r, status: 'paused', pausedAt: iso(now), reason, analysisHistory: withHistory(history, r) };
  return {
    state: { ...current, rollout: record },
    event: { action: 'rollout.pause', reason: `rollout ${r.id}: paused at step ${r.step + 1}/${r.steps.length}${reason ? `: ${reason}` : ''}` },
  };
}

/** Resumes a paused rollout. The hold excludes the time spent paused; only analyses after the resume count. */
export function resumeRollout(current: RoutingState, now: number, reason: string, history?: readonly RecordedVerdict[]): Transition {
  const r = activeRecord(current);
  if (r.status !== 'paused' || r.pausedAt === null) throw new TurnoutError('TURNOUT_ERR_CONFLICT', 'the rollout is not paused');
  const pausedMs = Math.max(0, now - Date.parse(r.pausedAt));
  const record: RolloutRecord = {
    ...r,
    status: 'running',
    pausedAt: null,
    stepStartedAt: iso(Date.parse(r.stepStartedAt) + pausedMs),
    analysisSince: iso(now),
    reason: '',
    analysisHistory: withHistory(history, r),
  };
  return {
    state: { ...current, rollout: record },
    event: { action: 'rollout.resume', reason: `rollout ${r.id}: resumed at step ${r.step + 1}/${r.steps.length}${reason ? `: ${reason}` : ''}` },
  };
}

/** Promotes: the canary becomes active with weight 0 (a flip, which rollback can undo). */
export function promoteRollout(current: RoutingState, now: number, reason: string, history?: readonly RecordedVerdict[]): Transition {
  const r = activeRecord(current);
  if (current.active !== r.stable) {
    throw new TurnoutError('TURNOUT_ERR_CONFLICT', `the active colour changed to ${current.active} during the rollout; abort it`);
  }
  const flipped = model.flip(current).state;
  const record: RolloutRecord = {
    ...r,
    status: 'promoted',
    pausedAt: null,
    endedAt: iso(now),
    reason,
    analysisHistory: withHistory(history, r),
  };
  return {
    state: { ...flipped, rollout: record },
    event: { action: 'rollout.promote', reason: `rollout ${r.id}: ${r.canary} promoted${reason ? `: ${reason}` : ''}` },
  };
}

/**
 * Aborts: the canary's weight goes to 0 at once. If the active colour changed under the rollout
 * (a human flipped), routing is left as it is and only the rollout ends.
 */
export function abortRollout(current: RoutingState, now: number, reason: string, history?: readonly RecordedVerdict[]): Transition {
  const r = activeRecord(current);
  const record: RolloutRecord = {
    ...r,
    status: 'aborted',
    pausedAt: null,
    endedAt: iso(now),
    reason,
    analysisHistory: withHistory(history, r),
  };
  const weight = current.active === r.stable ? ZERO_WEIGHT : current.weight;
  return {
    state: { ...current, weight, rollout: record },
    event: { action: 'rollout.abort', reason: `rollout ${r.id}: aborted: ${reason}` },
  };
}

/** When the current step's hold ends (ms), or null when the rollout is not running. */
export function holdUntil(r: RolloutRecord): number | null {
  if (r.status !== 'running') return null;
  const step = r.steps[r.step];
  return step === undefined ? null : Date.parse(r.stepStartedAt) + step.holdSeconds * 1000;
}

/** The canary's share of traffic as far as the rollout is concerned: all of it once promoted, none once aborted. */
export function canaryWeight(r: RolloutRecord, stateWeight: Weight): Weight {
  if (isActive(r.status)) return stateWeight;
  return r.status === 'promoted' ? FULL_WEIGHT : ZERO_WEIGHT;
}

/** The public view of a record; `history` (the controller's in-memory verdicts) replaces the persisted ones when given. */
export function rolloutView(r: RolloutRecord, stateWeight: Weight, history?: readonly RecordedVerdict[]): RolloutView {
  const until = holdUntil(r);
  const weight = canaryWeight(r, stateWeight);
  return {
    id: r.id,
    status: r.status,
    canary: r.canary,
    stable: r.stable,
    step: r.step,
    weight,
    steps: r.steps,
    analysisSettings: r.analysis,
    onSuccess: r.onSuccess,
    analysis: history ?? r.analysisHistory,
    reason: r.reason,
    startedAt: r.startedAt,
    stepStartedAt: r.stepStartedAt,
    holdUntil: until === null ? null : iso(until),
    pausedAt: r.pausedAt,
    endedAt: r.endedAt,
  };
}

/**
 * The `rollout` summary for GET /api/v1/state, from the state alone: null if none ever ran.
 * `weight` as in canaryWeight().
 */
export function rolloutSummary(state: Pick<RoutingState, 'rollout' | 'weight'>, history?: readonly RecordedVerdict[]): {
  id: string;
  status: RolloutStatus;
  canary: RolloutRecord['canary'];
  step: number;
  steps: number;
  weight: number;
  reason: string;
  lastVerdict: RecordedVerdict['result'] | null;
} | null {
  const r = recordOf(state);
  if (r === null) return null;
  return {
    id: r.id,
    status: r.status,
    canary: r.canary,
    step: r.step,
    steps: r.steps.length,
    weight: canaryWeight(r, state.weight),
    reason: r.reason,
    lastVerdict: (history ?? r.analysisHistory).at(-1)?.result ?? null,
  };
}
