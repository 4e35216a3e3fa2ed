// The one schema of what an operator asks of a rollout (CONTRACT §4, POST /api/v1/rollouts) and
// of a flip's verification period (CONTRACT §11, `verify`): the analysis thresholds are defined
// once and shared by both. Each schema gives the TypeScript type (Static), the strict validator
// with its defaults (schema/validate.ts), the OpenAPI description (admin/api-schemas.ts) and the
// error messages naming the field (`body.steps[1].weight must be …`). Rules JSON Schema cannot
// say (weights increase from step to step) run as a pass after validation.
import { Type, type Static } from 'typebox';
import { TurnoutError } from '../errors.ts';
import { weightSchema } from '../schema/common.ts';
import { apiMessage, settle, locate } from '../schema/issues.ts';
import { checkValue } from '../schema/validate.ts';
import { prepare } from '../schema/prepare.ts';
import type { RolloutSpec, RolloutStep } from './types.ts';

/** Bounds that keep a rollout record small and its timers sane. */
export const MAX_STEPS = 50;
export const MAX_HOLD_SECONDS = 7 * 24 * 3600;
export const MAX_INTERVAL_SECONDS = 3600;
/** A verification period longer than a week is a forgotten one. */
export const MAX_VERIFY_SECONDS = 7 * 24 * 3600;

/** The thresholds and cadence of an analysis, shared by rollouts and verification periods. */
const thresholds = {
  intervalSeconds: Type.Number({ exclusiveMinimum: 0, maximum: MAX_INTERVAL_SECONDS, default: 10, description: 'seconds between two analyses' }),
  minRequests: Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 50, description: 'fewer canary requests in the window → inconclusive (the step holds)' }),
  maxErrorRate: Type.Number({ minimum: 0, maximum: 1, default: 0.02, description: "absolute limit on the canary's error rate" }),
  maxP99Ms: Type.Number({ exclusiveMinimum: 0, maximum: 3_600_000, default: 800, description: "absolute limit on the canary's p99 latency (ms)" }),
  maxP99Ratio: Type.Number({ minimum: 1, maximum: 1_000_000, default: 1.5, description: 'limit on canary p99 / stable p99' }),
  alpha: Type.Number({ exclusiveMinimum: 0, maximum: 0.5, default: 0.01, description: 'significance level of the error-rate tests' }),
  minErrorRateDelta: Type.Number({ minimum: 0, maximum: 1, default: 0.005, description: 'a canary error rate above stable by less than this is never a regression' }),
  p99ToleranceMs: Type.Number({ minimum: 0, maximum: 3_600_000, default: 50, description: 'a canary p99 above stable by less than this (ms) is never a latency regression' }),
};

/** A rollout's analysis settings, every field set (the persisted and shown form). */
export const AnalysisSettingsSchema = Type.Object(
  {
    // CONTRACT §9: hold at weight 0 with shadowing until minRequests pairs were compared, then start
    // the steps if the mismatch rate is at most this (else abort). Absent: no shadow gate.
    maxShadowMismatchRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'shadow gate before the first step (CONTRACT §9); absent: none' })),
    ...thresholds,
  },
  { additionalProperties: false },
);

export const RolloutStepSchema = Type.Object(
  {
    weight: weightSchema({ exclusiveMinimum: 0, description: 'canary percent during the step: > 0, at most 4 decimals, greater than the previous step' }),
    holdSeconds: Type.Number({ minimum: 0, maximum: MAX_HOLD_SECONDS, description: 'how long the step lasts at least' }),
  },
  { additionalProperties: false },
);

/** POST /api/v1/rollouts without its `reason` (the route adds it): missing analysis fields take the defaults. */
export const RolloutSpecSchema = Type.Object(
  {
    steps: Type.Array(RolloutStepSchema, {
      minItems: 1,
      maxItems: MAX_STEPS,
      'x-messages': { type: 'must be an array of { weight, holdSeconds }', minItems: 'must have at least one step', maxItems: `must have at most ${MAX_STEPS} steps` },
    }),
    analysis: Type.Optional(Type.Partial(AnalysisSettingsSchema, { additionalProperties: false, default: {}, description: 'thresholds and cadence; missing fields take the defaults' })),
    onSuccess: Type.Optional(Type.Literal('promote', { default: 'promote' })),
  },
  { additionalProperties: false },
);

/** A verification period's settings, every field set (CONTRACT §11). */
export const VerifySettingsSchema = Type.Object(
  {
    seconds: Type.Number({ minimum: 1, maximum: MAX_VERIFY_SECONDS, default: 300, description: 'length of the period, from the flip' }),
    ...Object.fromEntries(Object.entries(thresholds)) as typeof thresholds,
  },
  { additionalProperties: false },
);

/** A flip's `verify`: the fields to set (the rest: routing.verify, then the defaults), or false for none. */
export const VerifyBodySchema = Type.Union([Type.Partial(VerifySettingsSchema, { additionalProperties: false }), Type.Literal(false)], {
  description: 'a verification period (CONTRACT §11): fields left out take routing.verify, then the defaults; false flips without one; absent → routing.verify',
  'x-messages': { anyOf: 'must be an object such as { "seconds": 300 }, or false' },
});

export type AnalysisSettingsInput = Static<typeof AnalysisSettingsSchema>;
export type VerifySettingsInput = Static<typeof VerifySettingsSchema>;

/** The built-in analysis settings: the schema's defaults. */
export const ANALYSIS_DEFAULTS = Object.freeze(prepare(AnalysisSettingsSchema, {}, []) as AnalysisSettingsInput);
/** The built-in verification settings: the schema's defaults (a five-minute period). */
export const VERIFY_DEFAULTS = Object.freeze(prepare(VerifySettingsSchema, {}, []) as VerifySettingsInput);

function badRequest(message: string): TurnoutError {
  return new TurnoutError('TURNOUT_ERR_BAD_REQUEST', message);
}

/** Parses a POST /api/v1/rollouts body; throws a 400 TurnoutError naming every bad field. */
export function parseRolloutSpec(body: unknown): RolloutSpec {
  const { value, issues } = checkValue(RolloutSpecSchema, body, { wording: 'api', root: 'body' });
  // After validation: the weights increase from step to step (checked on the steps that passed).
  const steps = ((value as { steps?: RolloutStep[] } | undefined)?.steps ?? []) as RolloutStep[];
  if (issues.length === 0) {
    for (let i = 1; i < steps.length; i++) {
      const [previous, step] = [steps[i - 1] as RolloutStep, steps[i] as RolloutStep];
      if (step.weight <= previous.weight) {
        issues.push(locate('body', ['steps', i, 'weight'], `must be greater than steps[${i - 1}].weight (${previous.weight}): weights increase`));
      }
    }
  }
  if (issues.length > 0) throw badRequest(apiMessage(settle(issues, RolloutSpecSchema)));
  const spec = value as Static<typeof RolloutSpecSchema>;
  return { steps: spec.steps, analysis: spec.analysis as AnalysisSettingsInput, onSuccess: 'promote' };
}
