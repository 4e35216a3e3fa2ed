// The vocabulary of progressive rollouts (CONTRACT §4): what an operator asks for (RolloutSpec),
// what is persisted in RoutingState.rollout (RolloutRecord), and what analysis says (Verdict).
// Everything here is plain JSON data: the record is stored opaquely by the state store.
import type { Static } from 'typebox';
import type { Colour, Weight } from '../domain.ts';
import type { AnalysisSettingsSchema, RolloutStepSchema } from './spec.ts';

/** One step of a rollout: canary weight (strictly increasing across steps) and hold (seconds ≥ 0). */
export type RolloutStep = Readonly<Static<typeof RolloutStepSchema>>;

/**
 * Thresholds and cadence of the analysis (rollout/spec.ts is the one definition: bounds, defaults,
 * meaning). Missing fields get ANALYSIS_DEFAULTS; `maxShadowMismatchRate` absent: no shadow gate.
 */
export type AnalysisSettings = Readonly<Static<typeof AnalysisSettingsSchema>>;

export { ANALYSIS_DEFAULTS } from './spec.ts';

export interface RolloutSpec {
  readonly steps: readonly RolloutStep[];
  readonly analysis: AnalysisSettings;
  readonly onSuccess: 'promote';
}

export type RolloutStatus = 'running' | 'paused' | 'promoted' | 'aborted';

export function isActive(status: RolloutStatus): boolean {
  return status === 'running' || status === 'paused';
}

/** Counts in one colour's window: what analysis needs and nothing more. */
export interface WindowSample {
  readonly requests: number;
  readonly errors: number;
  /** p99 latency in ms; null (or 0) when there were no requests. */
  readonly p99Ms: number | null;
}

export type VerdictResult = 'pass' | 'fail' | 'inconclusive';

/** One metric's judgement; `reason` names the metric and both values. */
export interface Check {
  readonly metric: 'requests' | 'errorRate' | 'p99Ms' | 'p99Ratio' | 'errorRateVsStable';
  readonly result: VerdictResult;
  readonly reason: string;
}

export interface Verdict {
  readonly result: VerdictResult;
  /** The failing (or holding) checks first; one line each. */
  readonly reasons: readonly string[];
  readonly checks: readonly Check[];
  readonly canary: WindowSample;
  readonly stable: WindowSample;
}

/** A verdict as kept by the controller: when, at which step, over which span. */
export interface RecordedVerdict extends Verdict {
  readonly at: string;
  readonly step: number;
  readonly weight: Weight;
  readonly spanSeconds: number;
}

/**
 * The persisted rollout (RoutingState.rollout). Times are absolute ISO strings so holds survive a
 * restart. `step` is the index into `steps` of the step being held (during `running`/`paused`),
 * or of the last step reached (after `promoted`/`aborted`).
 */
export interface RolloutRecord {
  readonly kind: 'turnout-rollout/1';
  readonly id: string;
  readonly status: RolloutStatus;
  readonly canary: Colour;
  readonly stable: Colour;
  readonly steps: readonly RolloutStep[];
  readonly analysis: AnalysisSettings;
  readonly onSuccess: 'promote';
  readonly step: number;
  readonly startedAt: string;
  /** When the current step's hold began; shifted forward by the time spent paused. */
  readonly stepStartedAt: string;
  /** Only analyses at or after this time count for advancing (step start or resume). */
  readonly analysisSince: string;
  readonly pausedAt: string | null;
  readonly endedAt: string | null;
  /** Why it was paused, promoted or aborted (empty while running normally). */
  readonly reason: string;
  /** The latest verdicts (newest last, bounded) as of the last transition; the controller holds newer ones in memory. */
  readonly analysisHistory: readonly RecordedVerdict[];
  /** CONTRACT §9: present while the rollout holds at weight 0 for the shadow comparison; absent or null once passed. */
  readonly shadowGate?: { readonly since: string } | null;
}

/** What GET /api/v1/rollouts/current and the `rollout` field of GET /api/v1/state show. */
export interface RolloutView {
  readonly id: string;
  readonly status: RolloutStatus;
  readonly canary: Colour;
  readonly stable: Colour;
  /** Index into `steps` (0-based). */
  readonly step: number;
  readonly weight: Weight;
  readonly steps: readonly RolloutStep[];
  readonly analysisSettings: AnalysisSettings;
  readonly onSuccess: 'promote';
  /** Newest last. */
  readonly analysis: readonly RecordedVerdict[];
  readonly reason: string;
  readonly startedAt: string;
  readonly stepStartedAt: string;
  /** When the current step's hold ends (null once the rollout ended or while paused). */
  readonly holdUntil: string | null;
  readonly pausedAt: string | null;
  readonly endedAt: string | null;
}

/** What the controller reads: each colour's recent window (the telemetry engineer's Telemetry fits). */
export interface WindowSource {
  colourSummary(
    colour: Colour,
    spanSeconds?: number,
  ): { readonly requests: number; readonly errors: number; readonly latencyMs: { readonly p99: number | null } };
}

/** A pino-compatible logger, narrowed to what rollout/ uses. */
export interface RolloutLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
