// The rollout controller: a state machine (running → paused ⇄ running → promoted | aborted) over
// the rollout record persisted in the routing state. It is driven by tick(), which the tests call
// directly with an injected clock and production calls from an unref'd interval (every second).
// Each tick: when an analysis is due (every intervalSeconds since the step began or resumed),
// compare the canary's window with the stable colour's over the same span; a failing verdict
// aborts in the same tick (weight 0). A step advances once its hold has passed and its latest
// analysis (taken during this step, after it began or resumed) passed; after the last step the
// canary is promoted (a flip). Every transition is one commit through StateManager — the same
// path as a human's change — with its audit event.
//
// Verdicts are kept in memory (bounded) and written into the record with the next transition,
// so analysis does not bump the state version every interval. After a restart, a running
// rollout resumes from its persisted absolute times but needs a fresh analysis before advancing.
import { randomUUID } from 'node:crypto';
import { Ticker } from './ticker.ts';
import { systemClock, ZERO_WEIGHT, type Clock } from '../domain.ts';
import { TurnoutError } from '../errors.ts';
import type { AuditEvent, RoutingState, Transition } from '../state/model.ts';
import { analyse } from './analysis.ts';
import * as records from './record.ts';
import { parseRolloutSpec } from './spec.ts';
import type { RecordedVerdict, RolloutLogger, RolloutRecord, RolloutView, WindowSample, WindowSource } from './types.ts';
import { isActive } from './types.ts';

/** What the controller needs of StateManager (which satisfies it). */
export interface RolloutStateHost {
  readonly state: RoutingState;
  commit(transition: (current: RoutingState) => Transition, meta: { actor: string; reason?: string; ifMatch?: number; fence?: string }): Promise<RoutingState>;
  onChange(listener: (state: RoutingState, event: AuditEvent) => void): () => void;
}

export interface RolloutActionMeta {
  /** Who asked (`admin`, an operator's name); the controller itself acts as `rollout`. */
  readonly actor: string;
  readonly reason?: string;
  readonly ifMatch?: number;
}

export interface RolloutControllerOptions {
  readonly state: RolloutStateHost;
  /** CONTRACT §9: the shadow comparison's cumulative counts, for `analysis.maxShadowMismatchRate`. */
  readonly shadow?: () => { readonly compared: number; readonly mismatches: number };
  readonly windows: WindowSource;
  readonly clock?: Clock;
  readonly logger?: RolloutLogger;
  /** How often the production timer calls tick() (default 1000 ms). */
  readonly tickMs?: number;
  /** Longest analysis span (default: the window source's windowSeconds, else 60 s). */
  readonly maxSpanSeconds?: number;
  readonly newId?: () => string;
  /** Lets a promotion (a flip) carry the config's verification period (VerificationController.decoratePromotion). */
  readonly decoratePromotion?: (before: RoutingState, promotion: Transition) => Transition;
  /**
   * In a fleet (CONTRACT §6): whether this replica holds the rollout lease. Only then does
   * tick() act; its commits carry `fence` so the shared store refuses them once the lease is
   * lost. Absent: always the leader (one process).
   */
  readonly leader?: { readonly held: boolean; readonly id: string };
}

/** The actor of the controller's own transitions. */
export const CONTROLLER_ACTOR = 'rollout';

const noopLogger: RolloutLogger = { info() {}, warn() {}, error() {} };

function sampleOf(summary: ReturnType<WindowSource['colourSummary']>): WindowSample {
  const p99 = summary.latencyMs.p99;
  return {
    requests: summary.requests,
    errors: summary.errors,
    p99Ms: summary.requests > 0 && typeof p99 === 'number' && Number.isFinite(p99) ? p99 : null,
  };
}

export class RolloutController {
  readonly #host: RolloutStateHost;
  readonly #windows: WindowSource;
  readonly #clock: Clock;
  readonly #logger: RolloutLogger;
  readonly #ticker: Ticker;
  readonly #maxSpanSeconds: number;
  readonly #newId: () => string;
  readonly #unsubscribe: () => void;
  readonly #decoratePromotion: (before: RoutingState, promotion: Transition) => Transition;
  readonly #leader: { readonly held: boolean; readonly id: string } | undefined;
  #led = false;
  /** Analyses before this instant do not count (process start: windows restart empty). */
  #startedAt: number;
  /** The rollout (id) and analysis anchor the in-memory schedule and history belong to. */
  #trackedId: string | null = null;
  #trackedSince: string | null = null;
  #nextAnalysisAt = 0;
  #history: RecordedVerdict[] = [];
  readonly #shadow: (() => { readonly compared: number; readonly mismatches: number }) | undefined;
  /** The shadow counts when the gate of rollout `id` was first seen by this process. */
  #gateBaseline: { id: string; compared: number; mismatches: number } | null = null;

  constructor(options: RolloutControllerOptions) {
    this.#shadow = options.shadow;
    this.#host = options.state;
    this.#windows = options.windows;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? noopLogger;
    this.#ticker = new Ticker(() => this.#tick(), options.tickMs ?? 1000, (err) => this.#logger.error({ err }, 'rollout tick failed'));
    const fromSource = (options.windows as { windowSeconds?: unknown }).windowSeconds;
    this.#maxSpanSeconds = options.maxSpanSeconds ?? (typeof fromSource === 'number' && fromSource > 0 ? fromSource : 60);
    this.#newId = options.newId ?? (() => randomUUID().slice(0, 8));
    this.#decoratePromotion = options.decoratePromotion ?? ((_before, promotion) => promotion);
    this.#startedAt = this.#clock.now();
    this.#leader = options.leader;
    this.#unsubscribe = this.#host.onChange((state, event) => this.#onChange(state, event));
  }

  /** Resumes a persisted rollout (in its persisted status) and starts the tick timer. */
  start(): void {
    this.#startedAt = this.#clock.now();
    this.#trackedId = null;
    this.#track(records.recordOf(this.#host.state));
    const r = records.recordOf(this.#host.state);
    if (r !== null && isActive(r.status)) {
      this.#logger.info({ rollout: r.id, status: r.status, step: r.step }, `resuming rollout ${r.id} (${r.status}, step ${r.step + 1}/${r.steps.length})`);
    }
    this.#ticker.start();
  }

  /** Stops the timer; the persisted rollout stays as it is (a restart resumes it). */
  stop(): void {
    this.#ticker.stop();
    this.#unsubscribe();
  }

  /** One step of the state machine. Concurrent calls share the tick in progress. */
  tick(): Promise<void> {
    return this.#ticker.tick();
  }

  /** The current or last rollout, with the latest verdicts; null if none ever ran. */
  current(): RolloutView | null {
    const state = this.#host.state;
    const r = records.recordOf(state);
    if (r === null) return null;
    this.#track(r);
    return records.rolloutView(r, state.weight, this.#history);
  }

  /** The `rollout` field of GET /api/v1/state. */
  summary(): ReturnType<typeof records.rolloutSummary> {
    const r = records.recordOf(this.#host.state);
    if (r !== null) this.#track(r);
    return records.rolloutSummary(this.#host.state, r === null ? undefined : this.#history);
  }

  /** Validates a POST /api/v1/rollouts body and starts it (400 naming the field; 409 if one is active). */
  async create(body: unknown, meta: RolloutActionMeta): Promise<RolloutView> {
    const spec = parseRolloutSpec(body);
    const id = this.#newId();
    // The shadow gate counts pairs from its start (after a restart: from the first tick).
    const counts = this.#shadow?.();
    if (counts && spec.analysis.maxShadowMismatchRate !== undefined) this.#gateBaseline = { id, compared: counts.compared, mismatches: counts.mismatches };
    await this.#host.commit((current) => records.startRollout(current, spec, id, this.#clock.now(), meta.reason), meta);
    return this.#viewOrThrow();
  }

  pause(meta: RolloutActionMeta): Promise<RolloutView> {
    return this.#act((cur, now) => records.pauseRollout(cur, now, meta.reason || `paused by ${meta.actor}`, this.#history), meta);
  }

  resume(meta: RolloutActionMeta): Promise<RolloutView> {
    return this.#act((cur, now) => records.resumeRollout(cur, now, meta.reason || `resumed by ${meta.actor}`, this.#history), meta);
  }

  /** Skips the remaining steps: the canary becomes active. */
  promote(meta: RolloutActionMeta): Promise<RolloutView> {
    return this.#act((cur, now) => this.#decoratePromotion(cur, records.promoteRollout(cur, now, meta.reason || `promoted by ${meta.actor}`, this.#history)), meta);
  }

  abort(meta: RolloutActionMeta): Promise<RolloutView> {
    return this.#act((cur, now) => records.abortRollout(cur, now, meta.reason || `aborted by ${meta.actor}`, this.#history), meta);
  }

  async #act(fn: (current: RoutingState, now: number) => Transition, meta: RolloutActionMeta): Promise<RolloutView> {
    await this.#host.commit((current) => fn(current, this.#clock.now()), meta);
    return this.#viewOrThrow();
  }

  #viewOrThrow(): RolloutView {
    const view = this.current();
    if (view === null) throw new TurnoutError('TURNOUT_ERR_NOT_FOUND', 'no rollout has run');
    return view;
  }

  /** Aligns the in-memory schedule and history with the record (a new rollout, a step, a resume, a restart). */
  #track(r: RolloutRecord | null): void {
    if (r === null) return;
    if (r.id !== this.#trackedId) {
      this.#trackedId = r.id;
      this.#history = [...r.analysisHistory];
      this.#trackedSince = null;
    }
    if (r.analysisSince !== this.#trackedSince) {
      this.#trackedSince = r.analysisSince;
      this.#nextAnalysisAt = this.#since(r) + r.analysis.intervalSeconds * 1000;
    }
  }

  /** Analyses count from the step's start or resume, and never from before this process started. */
  #since(r: RolloutRecord): number {
    return Math.max(Date.parse(r.analysisSince), this.#startedAt);
  }

  async #tick(): Promise<void> {
    if (this.#leader !== undefined) {
      const held = this.#leader.held;
      // Taking over: continue from the persisted record (step, history), not from whatever this
      // replica tracked while another led.
      if (held && !this.#led) this.#trackedId = null;
      this.#led = held;
      if (!held) return;
    }
    const r = records.recordOf(this.#host.state);
    if (r === null || r.status !== 'running') return;
    this.#track(r);
    const now = this.#clock.now();

    // The active colour changed under the rollout without the listener ending it (a crash between
    // a manual flip and the abort): the rollout no longer describes the routing; end it.
    if (this.#host.state.active !== r.stable) {
      await this.#commitOwn(r, (cur, at) => records.abortRollout(cur, at, `the active colour is ${cur.active}, not the rollout's stable ${r.stable}`, this.#history));
      return;
    }

    if (r.shadowGate) {
      await this.#shadowGate(r);
      return;
    }

    if (now >= this.#nextAnalysisAt) {
      this.#nextAnalysisAt = now + r.analysis.intervalSeconds * 1000;
      const verdict = this.#analyse(r, now);
      this.#history = [...this.#history, verdict].slice(-records.MAX_VERDICTS);
      const log = { rollout: r.id, step: r.step, verdict: verdict.result, reasons: verdict.reasons };
      if (verdict.result === 'fail') {
        this.#logger.warn(log, `rollout ${r.id}: analysis failed; aborting`);
        const reason = verdict.checks.filter((c) => c.result === 'fail').map((c) => c.reason).join('; ');
        try {
          await this.#commitOwn(r, (cur, at) => records.abortRollout(cur, at, reason, this.#history));
        } catch (err) {
          // The store refused the abort: the canary still has traffic, so judge again next tick.
          this.#nextAnalysisAt = 0;
          throw err;
        }
        return;
      }
      this.#logger.info(log, `rollout ${r.id}: analysis ${verdict.result}`);
    }

    const until = records.holdUntil(r);
    const last = this.#history.at(-1);
    const counted = last !== undefined && last.step === r.step && Date.parse(last.at) >= this.#since(r);
    if (until === null || now < until || !counted || last.result !== 'pass') return;
    const passed = `hold of ${r.steps[r.step]?.holdSeconds}s passed, analysis passed`;
    if (r.step + 1 >= r.steps.length) {
      await this.#commitOwn(r, (cur, at) => this.#decoratePromotion(cur, records.promoteRollout(cur, at, `all ${r.steps.length} steps passed`, this.#history)));
    } else {
      await this.#commitOwn(r, (cur, at) => records.advanceRollout(cur, at, passed, this.#history));
    }
  }

  /**
   * CONTRACT §9: holds at 0% until minRequests pairs were compared since the gate began (in this
   * process: the counts are not persisted), then passes or aborts on the mismatch rate.
   */
  async #shadowGate(r: RolloutRecord): Promise<void> {
    const max = r.analysis.maxShadowMismatchRate ?? 1;
    const counts = this.#shadow?.() ?? { compared: 0, mismatches: 0 };
    if (this.#gateBaseline?.id !== r.id) this.#gateBaseline = { id: r.id, compared: counts.compared, mismatches: counts.mismatches };
    const compared = counts.compared - this.#gateBaseline.compared;
    const mismatches = counts.mismatches - this.#gateBaseline.mismatches;
    if (compared < Math.max(1, r.analysis.minRequests)) return;
    const rate = mismatches / compared;
    const figures = `shadow mismatchRate ${Math.round(rate * 10000) / 10000} (${mismatches}/${compared})`;
    if (rate <= max) {
      await this.#commitOwn(r, (cur, at) => records.passShadowGate(cur, at, `${figures} within maxShadowMismatchRate ${max}`));
    } else {
      this.#logger.warn({ rollout: r.id, rate, compared }, `rollout ${r.id}: shadow gate failed; aborting`);
      await this.#commitOwn(r, (cur, at) => records.abortRollout(cur, at, `${figures} above maxShadowMismatchRate ${max}`, this.#history));
    }
  }

  #analyse(r: RolloutRecord, now: number): RecordedVerdict {
    const sinceSeconds = Math.ceil((now - this.#since(r)) / 1000);
    const spanSeconds = Math.min(this.#maxSpanSeconds, Math.max(r.analysis.intervalSeconds, sinceSeconds));
    const canary = sampleOf(this.#windows.colourSummary(r.canary, spanSeconds));
    const stable = sampleOf(this.#windows.colourSummary(r.stable, spanSeconds));
    const verdict = analyse(canary, stable, r.analysis);
    return {
      ...verdict,
      at: new Date(now).toISOString(),
      step: r.step,
      weight: r.steps[r.step]?.weight ?? ZERO_WEIGHT,
      spanSeconds,
    };
  }

  /**
   * Commits one of the controller's own transitions, but only if the rollout is still the one at
   * the step this tick looked at (a human may have paused, aborted or restarted it meanwhile).
   */
  async #commitOwn(seen: RolloutRecord, fn: (current: RoutingState, now: number) => Transition, fenced = true): Promise<void> {
    try {
      await this.#host.commit((current) => {
        const r = records.recordOf(current);
        if (r === null || r.id !== seen.id || r.status !== seen.status || r.step !== seen.step) {
          throw new TurnoutError('TURNOUT_ERR_CONFLICT', 'the rollout changed meanwhile');
        }
        return fn(current, this.#clock.now());
      }, { actor: CONTROLLER_ACTOR, ...(fenced && this.#leader ? { fence: this.#leader.id } : {}) });
    } catch (err) {
      if (err instanceof TurnoutError && err.code === 'TURNOUT_ERR_CONFLICT') {
        this.#logger.info({ rollout: seen.id, reason: err.message }, 'rollout transition skipped');
        return;
      }
      throw err;
    }
  }

  #onChange(state: RoutingState, event: AuditEvent): void {
    const r = records.recordOf(state);
    // A human flip or rollback takes the decision out of the rollout's hands: end it, so the
    // controller does not push the canary's weight back up a moment later.
    if (r !== null && isActive(r.status) && (event.action === 'flip' || event.action === 'rollback')) {
      const reason = `superseded by a manual ${event.action} (version ${event.version}, by ${event.actor})`;
      // Not fenced: the replica that made the manual change ends the rollout, leader or not.
      this.#commitOwn(r, (cur, now) => records.abortRollout(cur, now, reason, this.#history), false).catch((err: unknown) =>
        this.#logger.error({ err }, 'could not end the rollout after a manual change'),
      );
    }
  }
}
