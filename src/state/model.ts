// The dynamic, persisted state (active colour, weight, flips to undo, rollout) and the frozen
// snapshot the data plane reads. Transitions are pure functions: (state, input) → (state, event).
import type { Colour, Weight } from '../domain.ts';
import { deepFreeze, isColour, isValidWeight, otherColour, weightThreshold, ZERO_WEIGHT } from '../domain.ts';
import { TurnoutError } from '../errors.ts';

export interface ColourWeight {
  readonly active: Colour;
  readonly weight: Weight;
}

export type Action =
  | 'weight'
  | 'flip'
  | 'rollback'
  | 'rollout.start'
  | 'rollout.step'
  | 'rollout.pause'
  | 'rollout.resume'
  | 'rollout.promote'
  | 'rollout.abort'
  | 'flip.verified'
  | 'flip.revert'
  | 'shadow';

export interface AuditEvent {
  readonly at: string;
  readonly version: number;
  readonly action: Action;
  readonly from: ColourWeight;
  readonly to: ColourWeight;
  readonly actor: string;
  readonly reason: string;
  /** CONTRACT §10: the service the change belongs to (set by a `services:` config). */
  readonly service?: string;
}

/** The persisted routing state. `rollout` is owned by rollout/ and stored opaquely here. */
export interface RoutingState {
  readonly version: number;
  readonly active: Colour;
  readonly weight: Weight;
  readonly updatedAt: string;
  /** Flips not yet undone, oldest first (bounded); rollback pops the last. */
  readonly flips: readonly { readonly version: number; readonly from: ColourWeight }[];
  readonly rollout: unknown | null;
  /**
   * The idle colour's lifecycle (CONTRACT §11). Optional so that state written before §11 (and any
   * store that round-trips only the older fields) still loads: absent reads as `since: null, free: false`.
   */
  readonly idle?: IdleState;
  /** The current or last post-flip verification (CONTRACT §11); absent or null before any. */
  readonly verification?: VerificationRecord | null;
  /** CONTRACT §9: the shadow comparison's dynamic part. Optional: absent reads as the config's seed. */
  readonly shadow?: ShadowState;
}

/** The share (0..100) of the active colour's requests mirrored to the idle colour. */
export interface ShadowState {
  readonly percent: number;
}

/** When the idle colour became idle (ISO time, null if unknown) and whether it may be redeployed. */
export interface IdleState {
  readonly since: string | null;
  /** True once a verification of the active colour passed; false again at the next change of active colour. */
  readonly free: boolean;
}

export type VerificationStatus = 'running' | 'verified' | 'reverted' | 'cancelled';
export const VERIFICATION_STATUSES: readonly VerificationStatus[] = Object.freeze(['running', 'verified', 'reverted', 'cancelled'] as const);

/**
 * How a flip is verified: the period and the analysis thresholds (the rollout analysis'
 * AnalysisSettings plus `seconds`). Plain numbers, so the record stays JSON.
 */
export interface VerifySettings {
  /** Length of the period in seconds, from the flip. */
  readonly seconds: number;
  readonly intervalSeconds: number;
  readonly minRequests: number;
  readonly maxErrorRate: number;
  readonly maxP99Ms: number;
  readonly maxP99Ratio: number;
  readonly alpha: number;
  readonly minErrorRateDelta: number;
  readonly p99ToleranceMs: number;
}

/** One colour's counts over a span: what a verdict judges. */
export interface VerificationSample {
  readonly requests: number;
  readonly errors: number;
  readonly p99Ms: number | null;
  readonly spanSeconds: number;
}

/** One judgement of the new active colour during the period (newest last in `verdicts`). */
export interface VerificationVerdict {
  readonly at: string;
  readonly result: 'pass' | 'fail' | 'inconclusive';
  /** The deciding checks, one line each, naming the metric and both values. */
  readonly reasons: readonly string[];
  readonly sample: VerificationSample;
}

/**
 * The persisted verification (RoutingState.verification): plain JSON, times absolute ISO strings
 * so the period survives a restart. rollout/verification-record.ts owns its transitions; the one
 * rule kept here is that a manual change cancels a running period in the same commit (settle()).
 */
export interface VerificationRecord {
  readonly kind: 'turnout-verification/1';
  readonly id: string;
  readonly status: VerificationStatus;
  /** The colour being verified: the new active colour. */
  readonly colour: Colour;
  /** The colour it replaced: where a failing verdict flips back to. */
  readonly from: Colour;
  /** The version of the flip that began the period (its entry in `flips`). */
  readonly flipVersion: number;
  readonly startedAt: string;
  /** The earliest end of the period; it ends at the first passing verdict from then on. */
  readonly until: string;
  readonly endedAt: string | null;
  /** Why it ended (empty while running). */
  readonly reason: string;
  readonly settings: VerifySettings;
  /** The old colour's figures over the window before the flip: the comparison baseline. */
  readonly baseline: VerificationSample;
  /** The latest verdicts (bounded) as of the last transition; the controller holds newer ones in memory. */
  readonly verdicts: readonly VerificationVerdict[];
}

/** Actions that count as a manual change of the routing and so cancel a running verification. */
const CANCELS_VERIFICATION: ReadonlySet<string> = new Set([
  'weight', 'flip', 'rollback', 'rollout.start', 'rollout.step', 'rollout.pause', 'rollout.resume', 'rollout.promote', 'rollout.abort',
]);

/**
 * Rules every commit obeys whatever transition made it (StateManager calls this with the commit's
 * time): a change of active colour restarts the idle colour's clock (`free: false`); a routing
 * change that does not itself carry the running verification cancels it, so the change's own
 * event is the record and no second commit is needed (CONTRACT §11).
 */
export function settle(current: RoutingState, next: RoutingState, event: { action: string; actor: string; version: number }, at: string): RoutingState {
  let out = next;
  if (next.active !== current.active) out = { ...out, idle: { since: at, free: false } };
  const running = current.verification;
  // A rollout.abort that leaves the routing as it was is the rollout controller ending a rollout
  // that a human's flip already superseded: that flip decided, and may have started this period.
  const superseded = event.action === 'rollout.abort' && next.active === current.active && next.weight === current.weight;
  if (running && running.status === 'running' && CANCELS_VERIFICATION.has(event.action) && !superseded) {
    const carried = next.verification;
    if (carried && carried.id === running.id && carried.status === 'running') {
      out = {
        ...out,
        verification: {
          ...carried,
          status: 'cancelled',
          endedAt: at,
          reason: `cancelled by a manual ${event.action} (version ${event.version}, by ${event.actor})`,
        },
      };
    }
  }
  return out;
}

/** What the data plane reads per request: frozen, swapped whole on every committed change. */
export interface RoutingSnapshot {
  readonly version: number;
  readonly active: Colour;
  readonly canary: Colour;
  readonly weight: Weight;
  /** Bucket threshold: bucket < threshold → canary (CONTRACT §3). */
  readonly threshold: number;
  /** CONTRACT §9: shadow percent 0..100; 0 → the data plane does no shadow work at all. */
  readonly shadowPercent: number;
}

export function snapshotOf(state: Pick<RoutingState, 'version' | 'active' | 'weight'> & { readonly shadow?: ShadowState }): RoutingSnapshot {
  return Object.freeze({
    version: state.version,
    active: state.active,
    canary: otherColour(state.active),
    weight: state.weight,
    threshold: weightThreshold(state.weight),
    shadowPercent: state.shadow?.percent ?? 0,
  });
}

/** Sets the shadow percent (CONTRACT §9): routing is untouched, so a running verification goes on. */
export function setShadow(current: RoutingState, percent: number): Transition {
  if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100 || !isValidWeight(percent)) {
    throw new TurnoutError('TURNOUT_ERR_BAD_REQUEST', 'percent must be a number 0..100 with at most 4 decimals');
  }
  return { state: { ...current, shadow: { percent } }, event: { action: 'shadow' } };
}

// ---------------------------------------------------------------------------------------------
// Pure transitions (CONTRACT §4). Each takes the committed state and returns the next state and
// the event describing it; StateManager stamps `version`, `updatedAt`, `at`, `actor`, `reason`.
// A transition that cannot apply throws a TurnoutError and nothing changes.

/** Flips kept for rollback; older ones can no longer be undone (bounded, DESIGN §10). */
export const MAX_FLIPS = 100;

/** What a transition hands to StateManager.commit(). The event's `from`/`to` are derived from the states. */
export interface Transition {
  readonly state: RoutingState;
  readonly event: {
    readonly action: Action;
    readonly actor?: string;
    readonly reason?: string;
  };
}

/** Sets the canary weight (checked here: a caller's number). Setting the current weight again is still a change (one version, one event). */
export function setWeight(current: RoutingState, weight: number): Transition {
  if (!isValidWeight(weight)) {
    throw new TurnoutError('TURNOUT_ERR_BAD_REQUEST', 'weight must be a number 0..100 with at most 4 decimals');
  }
  return { state: { ...current, weight }, event: { action: 'weight' } };
}

/** The idle colour becomes active with weight 0; the flip is remembered so rollback can undo it. */
export function flip(current: RoutingState): Transition {
  const entry = { version: current.version + 1, from: { active: current.active, weight: current.weight } };
  const flips = [...current.flips, entry].slice(-MAX_FLIPS);
  return {
    state: { ...current, active: otherColour(current.active), weight: ZERO_WEIGHT, flips },
    event: { action: 'flip' },
  };
}

/**
 * weight > 0 → weight 0 (the canary is withdrawn, flips untouched); else undo the last flip not
 * yet undone: its previous active colour comes back, weight stays 0. Nothing to undo → 409.
 */
export function rollback(current: RoutingState): Transition {
  if (current.weight > 0) {
    return { state: { ...current, weight: ZERO_WEIGHT }, event: { action: 'rollback' } };
  }
  const last = current.flips.at(-1);
  if (last === undefined) {
    throw new TurnoutError('TURNOUT_ERR_CONFLICT', 'nothing to roll back: the canary weight is 0 and no flip is left to undo');
  }
  return {
    state: { ...current, active: last.from.active, weight: ZERO_WEIGHT, flips: current.flips.slice(0, -1) },
    event: { action: 'rollback' },
  };
}

/** The state of a first start, seeded from the config (version 0, no events). */
export function initialState(seed: { readonly active: Colour; readonly weight: number }, at: string): RoutingState {
  if (!isColour(seed.active)) throw new TurnoutError('TURNOUT_ERR_CONFIG', 'routing.active: must be blue or green');
  if (!isValidWeight(seed.weight)) {
    throw new TurnoutError('TURNOUT_ERR_CONFIG', 'routing.canaryWeight: must be a number 0..100 with at most 4 decimals');
  }
  return { version: 0, active: seed.active, weight: seed.weight, updatedAt: at, flips: [], rollout: null };
}

/**
 * A deep-frozen copy of a state, normalised through JSON: what is held in memory is exactly what
 * a store persists and reloads (the opaque `rollout` must therefore be plain JSON data).
 */
export function freezeState(state: RoutingState): RoutingState {
  return deepFreeze(JSON.parse(JSON.stringify(state)) as RoutingState);
}

