// The public JSON shape of the routing state (CONTRACT §4, GET /api/v1/state), shared by the
// admin routes and the typed client.
import type { Colour, Weight } from '../domain.ts';
import { otherColour, WEIGHT_SCALE } from '../domain.ts';
import type { StickyBy } from '../config/types.ts';
import type { RoutingState } from '../state/model.ts';
import { verificationOf, verificationView, type VerificationView } from '../rollout/verification-record.ts';

export interface StickyView {
  readonly by: StickyBy;
  readonly cookie: string;
  readonly header: string;
}

export interface StateView {
  readonly version: number;
  readonly active: Colour;
  readonly canary: { readonly colour: Colour; readonly weight: Weight };
  /** Percent of traffic per colour; sums to 100. */
  readonly split: { readonly blue: number; readonly green: number };
  readonly sticky: StickyView;
  readonly updatedAt: string;
  /** The current or last rollout's summary (rollout/ provides it); null if none ever ran. */
  readonly rollout: unknown;
  /** Answers to a change in a fleet: how many live replicas applied it before the answer (CONTRACT §6). */
  readonly converged?: { readonly applied: number; readonly replicas: number; readonly lagging?: readonly string[] };
  /** CONTRACT §11: the idle colour, since when, and whether it may be redeployed. */
  readonly idle: IdleView;
  /** CONTRACT §11: the current or last post-flip verification; null before any. */
  readonly verification: VerificationView | null;
}

export interface IdleView {
  readonly colour: Colour;
  /** When it became idle (ISO); null when unknown (state written before this field existed). */
  readonly since: string | null;
  /** True once a verification of the active colour passed: a pipeline may redeploy the idle colour. */
  readonly free: boolean;
}

export function idleView(state: Pick<RoutingState, 'active' | 'idle'>): IdleView {
  return { colour: otherColour(state.active), since: state.idle?.since ?? null, free: state.idle?.free ?? false };
}

/** The config's default sticky section, for an admin server built without one. */
export const DEFAULT_STICKY: StickyView = Object.freeze({ by: 'cookie', cookie: 'turnout_id', header: 'x-user-id' });

/** `verification`: the controller's view (with its newest verdicts); absent → from the persisted record. */
export function stateView(state: RoutingState, sticky: StickyView, rollout: unknown, verification?: VerificationView | null): StateView {
  const canary = otherColour(state.active);
  // Integer arithmetic on the 4-decimal scale, so 100 - 12.3456 is 87.6544, not 87.65440000000001.
  const stable = (100 * WEIGHT_SCALE - Math.round(state.weight * WEIGHT_SCALE)) / WEIGHT_SCALE;
  const split = state.active === 'blue' ? { blue: stable, green: state.weight } : { blue: state.weight, green: stable };
  return {
    version: state.version,
    active: state.active,
    canary: { colour: canary, weight: state.weight },
    split,
    sticky: { by: sticky.by, cookie: sticky.cookie, header: sticky.header },
    updatedAt: state.updatedAt,
    rollout: rollout ?? null,
    idle: idleView(state),
    verification: verification !== undefined ? verification : persistedVerification(state),
  };
}

function persistedVerification(state: RoutingState): VerificationView | null {
  const r = verificationOf(state);
  return r === null ? null : verificationView(r, Date.now());
}
