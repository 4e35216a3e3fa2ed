// The shared vocabulary of Turnout. Everything else imports from here; this file imports nothing.

export type Colour = 'blue' | 'green';
export const COLOURS: readonly Colour[] = Object.freeze(['blue', 'green'] as const);

export function isColour(value: unknown): value is Colour {
  return value === 'blue' || value === 'green';
}

export function otherColour(colour: Colour): Colour {
  return colour === 'blue' ? 'green' : 'blue';
}

/** Percent of traffic, 0..100 with at most 4 decimals (so weight × 10 000 is an integer). */
declare const weightBrand: unique symbol;
/**
 * Percent of traffic, 0..100 with at most 4 decimals (so weight × 10 000 is an integer). Branded:
 * a plain number does not type-check as a Weight; get one from isValidWeight() (a guard) or
 * toWeight() (which throws), so every weight in the state has been checked once.
 */
export type Weight = number & { readonly [weightBrand]: true };

export const WEIGHT_SCALE = 10_000;
export const BUCKETS = 1_000_000;

/** A checked Weight; throws a RangeError naming `field` otherwise (a programming error or unchecked input). */
export function toWeight(value: number, field = 'weight'): Weight {
  if (!isValidWeight(value)) throw new RangeError(`${field} must be a number 0..100 with at most 4 decimals (got ${String(value)})`);
  return value;
}

export function isValidWeight(value: unknown): value is Weight {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 100) return false;
  const scaled = value * WEIGHT_SCALE;
  return Math.abs(scaled - Math.round(scaled)) < 1e-6;
}

/** No traffic, and all of it: the two weights the state machines set without a check. */
export const ZERO_WEIGHT: Weight = toWeight(0);
export const FULL_WEIGHT: Weight = toWeight(100);

/** The bucket threshold for a weight: a request whose bucket is below it goes to the canary. */
export function weightThreshold(weight: Weight): number {
  return Math.round(weight * WEIGHT_SCALE);
}

/** Wall-clock milliseconds since the epoch; injected so time-based logic is testable without sleeping. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/** A uniform draw in [0, 1); injected so routing decisions are reproducible in tests. */
export type RandomSource = () => number;

/** Why an upstream request counted as an error (CONTRACT §5). */
export type ErrorKind = 'status5xx' | 'refused' | 'reset' | 'timeout' | 'no_healthy_target' | 'saturated';
export const ERROR_KINDS: readonly ErrorKind[] = Object.freeze([
  'status5xx',
  'refused',
  'reset',
  'timeout',
  'no_healthy_target',
  // Every connection to the target busy and the wait for one full or over (upstream/connection-gate.ts).
  'saturated',
] as const);

/** How a finished request is accounted: an upstream error, the client hanging up, or fine. */
export type Outcome = 'ok' | 'client_abort' | ErrorKind;

/** Freezes a plain JSON-like value and everything in it (the config, the routing state, events). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}
