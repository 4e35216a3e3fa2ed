// A flip's `verify` (CONTRACT §11): `POST /api/v1/flip { "verify": {...} }` and `routing.verify`
// in the config. Checked against spec.ts's VerifyBodySchema (one schema with the rollout's
// thresholds): unknown fields, wrong types and out-of-range values are a 400 naming every bad
// field (`body.verify.seconds must be >= 1`); nothing is coerced. Fields left out take the
// config's `routing.verify`, then VERIFY_DEFAULTS. `"verify": false` flips without a period even
// when the config has a default.
import { TurnoutError } from '../errors.ts';
import { apiMessage, settle } from '../schema/issues.ts';
import { checkValue } from '../schema/validate.ts';
import type { VerifySettings } from '../state/model.ts';
import { VERIFY_DEFAULTS, VerifyBodySchema, VerifySettingsSchema } from './spec.ts';

export { MAX_VERIFY_SECONDS, VERIFY_DEFAULTS } from './spec.ts';

/** The fields of a verify, in the schema's order. */
export const VERIFY_FIELDS = Object.keys(VerifySettingsSchema.properties) as (keyof VerifySettings)[];

/**
 * The settings of one flip's period, or null for a flip without one.
 * `value` is the body's `verify` (undefined: absent); `defaults` the config's `routing.verify`.
 */
export function parseVerify(value: unknown, defaults: Partial<VerifySettings> | null | undefined, field = 'body.verify'): VerifySettings | null {
  if (value === undefined) return defaults ? complete({}, defaults) : null;
  if (value === false) return null;
  // Defaults are layered here (given → routing.verify → built-ins), not filled by the schema.
  const { value: given, issues } = checkValue(VerifyBodySchema, value, { wording: 'api', root: field, defaults: false });
  if (issues.length > 0) throw new TurnoutError('TURNOUT_ERR_BAD_REQUEST', apiMessage(settle(issues, VerifyBodySchema)));
  const settings = given as Partial<VerifySettings>;
  if (!defaults && settings.seconds === undefined) throw new TurnoutError('TURNOUT_ERR_BAD_REQUEST', `${field}.seconds is required (no routing.verify default in the config)`);
  return complete(settings, defaults ?? {});
}

function complete(given: Partial<VerifySettings>, defaults: Partial<VerifySettings>): VerifySettings {
  return Object.freeze({ ...VERIFY_DEFAULTS, ...stripUndefined(defaults), ...stripUndefined(given) });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
