// Pure transitions and judgements of the post-flip verification (CONTRACT §11), over the record
// persisted in RoutingState.verification. A flip with a period is one commit (the flip's own
// event); a failing verdict flips straight back (`flip.revert`); a period that passes marks the
// idle colour free (`flip.verified`). The period is judged with the rollout analysis: the new
// active colour plays the canary, the old colour's figures from before the flip play stable.
import { otherColour, ZERO_WEIGHT } from '../domain.ts';
import { TurnoutError } from '../errors.ts';
import type { RoutingState, Transition, VerificationRecord, VerificationSample, VerificationVerdict, VerifySettings } from '../state/model.ts';
import * as model from '../state/model.ts';
import { analyse } from './analysis.ts';

export const VERIFICATION_KIND = 'turnout-verification/1';
/** Verdicts kept in the record and in memory (newest last). */
export const MAX_VERIFICATION_VERDICTS = 20;

const iso = (ms: number) => new Date(ms).toISOString();

/** The verification held in a state, or null (none ever ran). */
export function verificationOf(state: Pick<RoutingState, 'verification'>): VerificationRecord | null {
  const v = state.verification;
  return v && v.kind === VERIFICATION_KIND ? v : null;
}

/**
 * A verification record for a flip from `from` that is about to commit as `flipVersion`.
 * `baseline`: the old colour's window before the flip.
 */
export function newRecord(
  id: string,
  from: RoutingState,
  settings: VerifySettings,
  baseline: VerificationSample,
  now: number,
): VerificationRecord {
  return {
    kind: VERIFICATION_KIND,
    id,
    status: 'running',
    colour: otherColour(from.active),
    from: from.active,
    flipVersion: from.version + 1,
    startedAt: iso(now),
    until: iso(now + settings.seconds * 1000),
    endedAt: null,
    reason: '',
    settings,
    baseline,
    verdicts: [],
  };
}

function describeSettings(s: VerifySettings): string {
  return `${s.seconds}s verification (every ${s.intervalSeconds}s: maxErrorRate ${s.maxErrorRate}, maxP99Ms ${s.maxP99Ms}, maxP99Ratio ${s.maxP99Ratio}, minRequests ${s.minRequests})`;
}

/** A flip that carries a verification period: one commit, the `flip` event (the operator's reason first). */
export function flipWithVerification(current: RoutingState, record: VerificationRecord, reason = ''): Transition {
  const flipped = model.flip(current);
  const ours = `${record.colour} active with a ${describeSettings(record.settings)}`;
  return { state: { ...flipped.state, verification: record }, event: { ...flipped.event, reason: reason ? `${reason}; ${ours}` : ours } };
}

/**
 * Adds a verification to a state that a flip-like transition produced (a rollout's promotion):
 * `before` is the committed state the transition started from.
 */
export function attachVerification(before: RoutingState, t: Transition, record: VerificationRecord): Transition {
  if (t.state.active === before.active) return t;
  return {
    state: { ...t.state, verification: record },
    event: { ...t.event, reason: `${t.event.reason ?? ''}${t.event.reason ? '; ' : ''}${describeSettings(record.settings)}` },
  };
}

function runningRecord(current: RoutingState, id?: string): VerificationRecord {
  const r = verificationOf(current);
  if (r === null) throw new TurnoutError('TURNOUT_ERR_NOT_FOUND', 'no verification has run');
  if (r.status !== 'running') throw new TurnoutError('TURNOUT_ERR_CONFLICT', `the verification is ${r.status}, not running`);
  if (id !== undefined && r.id !== id) throw new TurnoutError('TURNOUT_ERR_CONFLICT', 'the verification changed meanwhile');
  if (current.active !== r.colour) {
    throw new TurnoutError('TURNOUT_ERR_CONFLICT', `the active colour is ${current.active}, not the verified ${r.colour}`);
  }
  return r;
}

function keep(verdicts: readonly VerificationVerdict[] | undefined, r: VerificationRecord): readonly VerificationVerdict[] {
  return (verdicts ?? r.verdicts).slice(-MAX_VERIFICATION_VERDICTS);
}

/**
 * Flips straight back to the old colour (left untouched: the seed's fallback), weight 0. The
 * verification's flip is taken off the rollback list, as a rollback would, so a later rollback
 * does not bring the failed colour back.
 */
export function revertVerification(
  current: RoutingState,
  now: number,
  reason: string,
  verdicts?: readonly VerificationVerdict[],
  id?: string,
): Transition {
  const r = runningRecord(current, id);
  const last = current.flips.at(-1);
  const flips = last !== undefined && last.version === r.flipVersion ? current.flips.slice(0, -1) : current.flips;
  const record: VerificationRecord = { ...r, status: 'reverted', endedAt: iso(now), reason, verdicts: keep(verdicts, r) };
  return {
    state: { ...current, active: r.from, weight: ZERO_WEIGHT, flips, verification: record },
    event: { action: 'flip.revert', reason: `verification ${r.id}: ${r.colour} failed, back to ${r.from}: ${reason}` },
  };
}

/** The period passed: the old colour may now be redeployed (`idle.free`). */
export function passVerification(current: RoutingState, now: number, reason: string, verdicts?: readonly VerificationVerdict[], id?: string): Transition {
  const r = runningRecord(current, id);
  const record: VerificationRecord = { ...r, status: 'verified', endedAt: iso(now), reason, verdicts: keep(verdicts, r) };
  return {
    state: { ...current, verification: record, idle: { since: current.idle?.since ?? null, free: true } },
    event: { action: 'flip.verified', reason: `verification ${r.id}: ${r.colour} verified; ${r.from} is free: ${reason}` },
  };
}

/**
 * Judges the new active colour (`sample`, since the flip) against the limits and the old
 * colour's baseline with the rollout analysis. The analysis speaks of canary and stable; the
 * reasons name the colours instead (`errorRate: green 0.3 (30/100), blue before the flip 0 (0/900)…`).
 */
export function judge(r: Pick<VerificationRecord, 'colour' | 'from' | 'settings' | 'baseline'>, sample: VerificationSample, now: number): VerificationVerdict {
  const v = analyse(sample, r.baseline, r.settings);
  const before = `${r.from} before the flip`;
  const relabel = (text: string) => text.replace(/\bcanary\b/g, r.colour).replace(/\bstable\b/g, before);
  // A failure names only what failed: that line becomes the revert's reason.
  const reasons = v.result === 'fail' ? v.checks.filter((c) => c.result === 'fail').map((c) => c.reason) : v.reasons;
  return { at: iso(now), result: v.result, reasons: reasons.map(relabel), sample };
}

export type Decision = 'revert' | 'verify' | 'wait';

/**
 * What a verdict means for the period: a failure reverts at once; a pass at or after `until`
 * ends it verified; anything else (a pass before the end, or too little traffic) keeps waiting,
 * even past `until`, since a period without evidence proves nothing.
 */
export function decide(r: Pick<VerificationRecord, 'until'>, verdict: Pick<VerificationVerdict, 'result'>, now: number): Decision {
  if (verdict.result === 'fail') return 'revert';
  if (verdict.result === 'pass' && now >= Date.parse(r.until)) return 'verify';
  return 'wait';
}

/** What GET /api/v1/state shows as `verification` (CONTRACT §11). */
export interface VerificationView {
  readonly id: string;
  readonly status: VerificationRecord['status'];
  readonly colour: VerificationRecord['colour'];
  readonly from: VerificationRecord['from'];
  readonly startedAt: string;
  readonly until: string;
  /** Seconds until `until` (0 once reached; the period may still wait for a passing verdict). */
  readonly remainingSeconds: number;
  readonly endedAt: string | null;
  readonly reason: string;
  readonly settings: VerifySettings;
  readonly baseline: VerificationSample;
  /** Newest last. */
  readonly verdicts: readonly VerificationVerdict[];
}

export function verificationView(r: VerificationRecord, now: number, verdicts?: readonly VerificationVerdict[]): VerificationView {
  const remaining = r.status === 'running' ? Math.max(0, Math.ceil((Date.parse(r.until) - now) / 1000)) : 0;
  return {
    id: r.id,
    status: r.status,
    colour: r.colour,
    from: r.from,
    startedAt: r.startedAt,
    until: r.until,
    remainingSeconds: remaining,
    endedAt: r.endedAt,
    reason: r.reason,
    settings: r.settings,
    baseline: r.baseline,
    verdicts: verdicts ?? r.verdicts,
  };
}
