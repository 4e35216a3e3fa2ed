// The dynamic, persisted state (active colour, weight, flips to undo, rollout) and the frozen
// snapshot the data plane reads. Transitions are pure functions: (state, input) → (state, event).
import type { Colour, Weight } from '../domain.ts';
import { otherColour, weightThreshold } from '../domain.ts';

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
