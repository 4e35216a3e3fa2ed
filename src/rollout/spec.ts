// Strict validation of a rollout body (CONTRACT §4): wrong types, out-of-range values and unknown
// fields are rejected with a 400 whose message names the field; nothing is coerced. Missing
// analysis fields take ANALYSIS_DEFAULTS; a missing onSuccess is "promote".
import { isValidWeight } from '../domain.ts';
import { TurnoutError } from '../errors.ts';
import { ANALYSIS_DEFAULTS, type AnalysisSettings, type RolloutSpec, type RolloutStep } from './types.ts';

/** Bounds that keep a rollout record small and its timers sane. */
export const MAX_STEPS = 50;
export const MAX_HOLD_SECONDS = 7 * 24 * 3600;
export const MAX_INTERVAL_SECONDS = 3600;

/** Messages read like the admin API's schema errors: `body.steps[1].weight must be …`. */
function bad(field: string, what: string): never {
  throw new TurnoutError('TURNOUT_ERR_BAD_REQUEST', `${field === 'body' ? 'body' : `body.${field}`} ${what}`);
}

function object(value: unknown, field: string, allowed: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) bad(field, 'must be an object');
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) bad(field === 'body' ? key : `${field}.${key}`, `is not allowed (known fields: ${allowed.join(', ')})`);
  }
  return o;
}

function number(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) bad(field, 'must be a number');
  return value;
}

type Range = { min?: number; max?: number; minExclusive?: number; maxExclusive?: number; integer?: boolean };

function ranged(value: unknown, field: string, r: Range): number {
  const n = number(value, field);
  if (r.integer && !Number.isInteger(n)) bad(field, 'must be an integer');
  if (r.min !== undefined && n < r.min) bad(field, `must be >= ${r.min}`);
  if (r.max !== undefined && n > r.max) bad(field, `must be <= ${r.max}`);
  if (r.minExclusive !== undefined && n <= r.minExclusive) bad(field, `must be > ${r.minExclusive}`);
  if (r.maxExclusive !== undefined && n >= r.maxExclusive) bad(field, `must be < ${r.maxExclusive}`);
  return n;
}

const ANALYSIS_RANGES: Record<keyof AnalysisSettings, Range> = {
  intervalSeconds: { minExclusive: 0, max: MAX_INTERVAL_SECONDS },
  minRequests: { min: 0, max: 1_000_000_000, integer: true },
  maxErrorRate: { min: 0, max: 1 },
  maxP99Ms: { minExclusive: 0, max: 3_600_000 },
  maxP99Ratio: { min: 1, max: 1_000_000 },
  alpha: { minExclusive: 0, max: 0.5 },
  minErrorRateDelta: { min: 0, max: 1 },
  p99ToleranceMs: { min: 0, max: 3_600_000 },
  maxShadowMismatchRate: { min: 0, max: 1 },
};
const ANALYSIS_FIELDS = Object.keys(ANALYSIS_RANGES) as (keyof AnalysisSettings)[];

function parseSteps(value: unknown): RolloutStep[] {
  if (!Array.isArray(value)) bad('steps', 'must be an array of { weight, holdSeconds }');
  if (value.length === 0) bad('steps', 'must have at least one step');
  if (value.length > MAX_STEPS) bad('steps', `must have at most ${MAX_STEPS} steps`);
  const steps: RolloutStep[] = [];
  value.forEach((raw, i) => {
    const field = `steps[${i}]`;
    const o = object(raw, field, ['weight', 'holdSeconds']);
    if (!('weight' in o)) bad(`${field}.weight`, 'is required');
    if (!('holdSeconds' in o)) bad(`${field}.holdSeconds`, 'is required');
    const weight = number(o.weight, `${field}.weight`);
    if (!isValidWeight(weight) || weight <= 0) bad(`${field}.weight`, 'must be > 0 and <= 100 with at most 4 decimals');
    const previous = steps[i - 1];
    if (previous !== undefined && weight <= previous.weight) {
      bad(`${field}.weight`, `must be greater than steps[${i - 1}].weight (${previous.weight}): weights increase`);
    }
    const holdSeconds = ranged(o.holdSeconds, `${field}.holdSeconds`, { min: 0, max: MAX_HOLD_SECONDS });
    steps.push({ weight, holdSeconds });
  });
  return steps;
}

function parseAnalysis(value: unknown): AnalysisSettings {
  if (value === undefined) return { ...ANALYSIS_DEFAULTS };
  const o = object(value, 'analysis', ANALYSIS_FIELDS);
  const out: Record<string, number> = { ...ANALYSIS_DEFAULTS };
  for (const key of ANALYSIS_FIELDS) {
    if (key in o) out[key] = ranged(o[key], `analysis.${key}`, ANALYSIS_RANGES[key]);
  }
  return out as unknown as AnalysisSettings;
}

/** Parses a POST /api/v1/rollouts body; throws a 400 TurnoutError naming the first bad field. */
export function parseRolloutSpec(body: unknown): RolloutSpec {
  if (body === undefined || body === null) bad('body', 'must be a JSON object with steps');
  const o = object(body, 'body', ['steps', 'analysis', 'onSuccess']);
  if (!('steps' in o)) bad('steps', 'is required');
  const steps = parseSteps(o.steps);
  const analysis = parseAnalysis(o.analysis);
  if (o.onSuccess !== undefined && o.onSuccess !== 'promote') bad('onSuccess', 'must be "promote"');
  return { steps, analysis, onSuccess: 'promote' };
}
