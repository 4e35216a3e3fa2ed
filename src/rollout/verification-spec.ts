// Strict validation of a flip's `verify` (CONTRACT §11): `POST /api/v1/flip { "verify": {...} }`
// and `routing.verify` in the config. Unknown fields, wrong types and out-of-range values are a
// 400 naming the field (`body.verify.seconds must be >= 1`); nothing is coerced. Fields left out
// take the config's `routing.verify`, then VERIFY_DEFAULTS. `"verify": false` flips without a
// period even when the config has a default.
import { TurnoutError } from '../errors.ts';
import type { VerifySettings } from '../state/model.ts';
import { ANALYSIS_DEFAULTS } from './types.ts';
import { MAX_INTERVAL_SECONDS } from './spec.ts';

/** A period longer than a week is a forgotten one. */
export const MAX_VERIFY_SECONDS = 7 * 24 * 3600;

/** Built-in defaults: the rollout analysis' thresholds and a five-minute period. */
export const VERIFY_DEFAULTS: VerifySettings = Object.freeze({ seconds: 300, ...ANALYSIS_DEFAULTS });

type Range = { min?: number; max?: number; minExclusive?: number; integer?: boolean };

export const VERIFY_RANGES: Readonly<Record<keyof VerifySettings, Range>> = Object.freeze({
  seconds: { min: 1, max: MAX_VERIFY_SECONDS },
  intervalSeconds: { minExclusive: 0, max: MAX_INTERVAL_SECONDS },
  minRequests: { min: 0, max: 1_000_000_000, integer: true },
  maxErrorRate: { min: 0, max: 1 },
  maxP99Ms: { minExclusive: 0, max: 3_600_000 },
  maxP99Ratio: { min: 1, max: 1_000_000 },
  alpha: { minExclusive: 0, max: 0.5 },
  minErrorRateDelta: { min: 0, max: 1 },
  p99ToleranceMs: { min: 0, max: 3_600_000 },
});
export const VERIFY_FIELDS = Object.keys(VERIFY_RANGES) as (keyof VerifySettings)[];

function bad(field: string, what: string): never {
  throw new TurnoutError('TURNOUT_ERR_BAD_REQUEST', `${field} ${what}`);
}

function ranged(value: unknown, field: string, r: Range): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) bad(field, 'must be a number');
  if (r.integer && !Number.isInteger(value)) bad(field, 'must be an integer');
  if (r.min !== undefined && value < r.min) bad(field, `must be >= ${r.min}`);
  if (r.max !== undefined && value > r.max) bad(field, `must be <= ${r.max}`);
  if (r.minExclusive !== undefined && value <= r.minExclusive) bad(field, `must be > ${r.minExclusive}`);
  return value;
}

/**
 * The settings of one flip's period, or null for a flip without one.
 * `value` is the body's `verify` (undefined: absent); `defaults` the config's `routing.verify`.
 */
export function parseVerify(value: unknown, defaults: Partial<VerifySettings> | null | undefined, field = 'body.verify'): VerifySettings | null {
  if (value === undefined) return defaults ? complete({}, defaults) : null;
  if (value === false) return null;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) bad(field, 'must be an object such as { "seconds": 300 }, or false');
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(VERIFY_FIELDS as string[]).includes(key)) bad(`${field}.${key}`, `is not allowed (known fields: ${VERIFY_FIELDS.join(', ')})`);
  }
  const given: Partial<Record<keyof VerifySettings, number>> = {};
  for (const key of VERIFY_FIELDS) {
    if (key in o) given[key] = ranged(o[key], `${field}.${key}`, VERIFY_RANGES[key]);
  }
  if (!defaults && given.seconds === undefined) bad(`${field}.seconds`, 'is required (no routing.verify default in the config)');
  return complete(given, defaults ?? {});
}

function complete(given: Partial<VerifySettings>, defaults: Partial<VerifySettings>): VerifySettings {
  return Object.freeze({ ...VERIFY_DEFAULTS, ...stripUndefined(defaults), ...stripUndefined(given) });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
