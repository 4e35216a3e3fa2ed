// The dynamic, persisted state (active colour, weight, flips to undo, rollout) and the frozen
// snapshot the data plane reads. Transitions are pure functions: (state, input) → (state, event).
import type { Colour, Weight } from '../domain.ts';
import { isColour, isValidWeight, otherColour, weightThreshold } from '../domain.ts';
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
  | 'rollout.abort';

export interface AuditEvent {
  readonly at: string;
  readonly version: number;
  readonly action: Action;
  readonly from: ColourWeight;
  readonly to: ColourWeight;
  readonly actor: string;
  readonly reason: string;
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
}

/** What the data plane reads per request: frozen, swapped whole on every committed change. */
export interface RoutingSnapshot {
  readonly version: number;
  readonly active: Colour;
  readonly canary: Colour;
  readonly weight: Weight;
  /** Bucket threshold: bucket < threshold → canary (CONTRACT §3). */
  readonly threshold: number;
}

export function snapshotOf(state: Pick<RoutingState, 'version' | 'active' | 'weight'>): RoutingSnapshot {
  return Object.freeze({
    version: state.version,
    active: state.active,
    canary: otherColour(state.active),
    weight: state.weight,
    threshold: weightThreshold(state.weight),
  });
}

// ---------------------------------------------------------------------------------------------
// Pure transitions (CONTRACT §4). Each takes the committed state and returns the next state and
// the event describing it; StateManager stamps `version`, `updatedAt`, `at`, `actor`, `reason`.
// A transition that cannot apply throws a TurnoutError and nothing changes.

/** Flips kept for rollback; older ones can no longer be undone (bounded, DESIGN §10). */
export const MAX_FLIPS = 100;

/** What a transition hands to StateManager.commit(). `from`/`to` are derived from the states. */
export interface Transition {
  readonly state: RoutingState;
  readonly event: {
    readonly action: Action;
    readonly from?: ColourWeight;
    readonly to?: ColourWeight;
    readonly actor?: string;
    readonly reason?: string;
  };
}

/** Sets the canary weight. Setting the current weight again is still a change (one version, one event). */
export function setWeight(current: RoutingState, weight: Weight): Transition {
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
    state: { ...current, active: otherColour(current.active), weight: 0, flips },
    event: { action: 'flip' },
  };
}

/**
 * weight > 0 → weight 0 (the canary is withdrawn, flips untouched); else undo the last flip not
 * yet undone: its previous active colour comes back, weight stays 0. Nothing to undo → 409.
 */
export function rollback(current: RoutingState): Transition {
  if (current.weight > 0) {
    return { state: { ...current, weight: 0 }, event: { action: 'rollback' } };
  }
  const last = current.flips.at(-1);
  if (last === undefined) {
    throw new TurnoutError('TURNOUT_ERR_CONFLICT', 'nothing to roll back: the canary weight is 0 and no flip is left to undo');
  }
  return {
    state: { ...current, active: last.from.active, weight: 0, flips: current.flips.slice(0, -1) },
    event: { action: 'rollback' },
  };
}

/** The state of a first start, seeded from the config (version 0, no events). */
export function initialState(seed: ColourWeight, at: string): RoutingState {
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

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}
