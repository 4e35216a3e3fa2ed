// The verification controller (CONTRACT §11): after a flip that carries a period, judge the new
// active colour every interval against the absolute limits and the old colour's figures from
// before the flip; a failing verdict flips straight back (`flip.revert`), a period that passes
// marks the idle colour free (`flip.verified`). Driven by tick(), which tests call with an
// injected clock and production calls from an unref'd interval; started and stopped exactly like
// the RolloutController, so a fleet runs it where it runs the rollouts (on the lease holder).
//
// Starting a period needs no leader: flip() and decoratePromotion() build the record inside the
// flip's own commit on whichever replica took the request (the baseline is read there, from the
// same windows). Cancelling needs no controller either: model.settle() cancels a running period
// in the commit of any manual change. Only the judging runs here. Verdicts are kept in memory
// (bounded) and written into the record with the transition that ends the period, so judging
// does not bump the state version every interval; after a restart the period resumes from its
// persisted times, judged on the traffic seen since (the windows restart empty).
import { randomUUID } from 'node:crypto';
import { Ticker } from './ticker.ts';
import { systemClock, type Clock } from '../domain.ts';
import { TurnoutError } from '../errors.ts';
import type { RoutingState, Transition, VerificationRecord, VerificationSample, VerificationVerdict, VerifySettings } from '../state/model.ts';
import * as model from '../state/model.ts';
import type { RolloutStateHost } from './controller.ts';
import type { RolloutLogger, WindowSource } from './types.ts';
import * as records from './verification-record.ts';
import { parseVerify } from './verification-spec.ts';

export interface VerificationControllerOptions {
  readonly state: RolloutStateHost;
  readonly windows: WindowSource;
  /** `routing.verify` of the config: the period of every flip that does not say otherwise (null: none). */
  readonly defaults?: Partial<VerifySettings> | null;
  readonly clock?: Clock;
  readonly logger?: RolloutLogger;
  /** How often the production timer calls tick() (default 1000 ms). */
  readonly tickMs?: number;
  /** Longest span judged (default: the window source's windowSeconds, else 60 s). */
  readonly maxSpanSeconds?: number;
  readonly newId?: () => string;
  /**
   * In a fleet (CONTRACT §6, §11): whether this replica holds the rollout lease. Only the holder
   * judges, and its commits carry `fence` so the shared store refuses them once the lease is
   * lost. Absent: always the leader (one process).
   */
  readonly leader?: { readonly held: boolean; readonly id: string };
}

export interface VerificationActionMeta {
  readonly actor: string;
  readonly reason?: string;
  readonly ifMatch?: number;
}

/** The actor of the controller's own transitions. */
export const VERIFIER_ACTOR = 'verify';

const noopLogger: RolloutLogger = { info() {}, warn() {}, error() {} };

export class VerificationController {
  readonly #host: RolloutStateHost;
  readonly #windows: WindowSource;
  readonly #defaults: Partial<VerifySettings> | null;
  readonly #clock: Clock;
  readonly #logger: RolloutLogger;
  readonly #ticker: Ticker;
  readonly #maxSpanSeconds: number;
  readonly #newId: () => string;
  readonly #leader: { readonly held: boolean; readonly id: string } | undefined;
  /** Verdicts before this instant do not count (process start: windows restart empty). */
  #startedAt: number;
  #trackedId: string | null = null;
  #nextAt = 0;
  #verdicts: VerificationVerdict[] = [];

  constructor(options: VerificationControllerOptions) {
    this.#host = options.state;
    this.#windows = options.windows;
    this.#defaults = options.defaults ?? null;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? noopLogger;
    this.#ticker = new Ticker(() => this.#tick(), options.tickMs ?? 1000, (err) => this.#logger.error({ err }, 'verification tick failed'));
    const fromSource = (options.windows as { windowSeconds?: unknown }).windowSeconds;
    this.#maxSpanSeconds = options.maxSpanSeconds ?? (typeof fromSource === 'number' && fromSource > 0 ? fromSource : 60);
    this.#newId = options.newId ?? (() => randomUUID().slice(0, 8));
    this.#leader = options.leader;
    this.#startedAt = this.#clock.now();
  }

  /** Resumes a persisted running period and starts the tick timer. */
  start(): void {
    this.#startedAt = this.#clock.now();
    this.#trackedId = null;
    const r = records.verificationOf(this.#host.state);
    if (r !== null && r.status === 'running') {
      this.#track(r);
      this.#logger.info({ verification: r.id, colour: r.colour, until: r.until }, `resuming the verification of ${r.colour} (until ${r.until})`);
    }
    this.#ticker.start();
  }

  /** Stops the timer; the persisted period stays as it is (a restart, or the next leader, resumes it). */
  stop(): void {
    this.#ticker.stop();
  }

  /** One judging step. Concurrent calls share the tick in progress. */
  tick(): Promise<void> {
    return this.#ticker.tick();
  }

  /**
   * POST /api/v1/flip: a flip, with the period `verify` asks for (validated strictly: 400 naming
   * the field), else the config's default, else none. One commit either way.
   */
  async flip(verify: unknown, meta: VerificationActionMeta): Promise<RoutingState> {
    const settings = parseVerify(verify, this.#defaults);
    return this.#host.commit((current) => {
      if (settings === null) return model.flip(current); // what StateManager.flip() commits
      return records.flipWithVerification(current, this.#newRecord(current, settings), meta.reason);
    }, meta);
  }

  /** For the RolloutController: a promotion (a flip) carries the config's default period, if any. */
  decoratePromotion(before: RoutingState, t: Transition): Transition {
    const settings = parseVerify(undefined, this.#defaults);
    if (settings === null || t.state.active === before.active) return t;
    return records.attachVerification(before, t, this.#newRecord(before, settings));
  }

  /** The dashboard's "revert now" lever: flips back to the old colour at once (`flip.revert`). */
  revert(meta: VerificationActionMeta): Promise<RoutingState> {
    const reason = meta.reason || `reverted by ${meta.actor}`;
    return this.#host.commit((current) => {
      const r = records.verificationOf(current);
      return records.revertVerification(current, this.#clock.now(), reason, r && r.id === this.#trackedId ? this.#verdicts : undefined);
    }, meta);
  }

  /** The `verification` field of GET /api/v1/state: null before any period ran. */
  view(state: RoutingState = this.#host.state): records.VerificationView | null {
    const r = records.verificationOf(state);
    if (r === null) return null;
    // This process's verdicts are the newest (a cancelled period's record holds only those persisted before).
    const mine = r.id === this.#trackedId && this.#verdicts.length >= r.verdicts.length ? this.#verdicts : undefined;
    return records.verificationView(r, this.#clock.now(), mine);
  }

  #newRecord(from: RoutingState, settings: VerifySettings): VerificationRecord {
    const old = this.#windows.colourSummary(from.active, this.#maxSpanSeconds);
    return records.newRecord(this.#newId(), from, settings, sampleOf(old, this.#maxSpanSeconds), this.#clock.now());
  }

  #track(r: VerificationRecord): void {
    if (r.id === this.#trackedId) return;
    this.#trackedId = r.id;
    this.#verdicts = [...r.verdicts];
    const since = this.#since(r);
    const until = Date.parse(r.until);
    // The first verdict after one interval, or at the end of a period shorter than that.
    const first = since + r.settings.intervalSeconds * 1000;
    this.#nextAt = until > since ? Math.min(first, until) : first;
  }

  #since(r: VerificationRecord): number {
    return Math.max(Date.parse(r.startedAt), this.#startedAt);
  }

  async #tick(): Promise<void> {
    // In a fleet only the lease holder judges; a replica taking over re-reads the persisted record.
    if (this.#leader !== undefined && !this.#leader.held) {
      this.#trackedId = null;
      return;
    }
    const state = this.#host.state;
    const r = records.verificationOf(state);
    if (r === null || r.status !== 'running') return;
    this.#track(r);
    // model.settle() cancels a period whose colour was flipped away by hand; never judge another colour.
    if (state.active !== r.colour) return;
    const now = this.#clock.now();
    if (now < this.#nextAt) return;
    const until = Date.parse(r.until);
    // Judge every interval, and once exactly at the end of the period.
    // On the interval's grid, not `now + interval`: a timer that fires a little late must not
    // push every later verdict back and, a tick early against the drifted mark, skip one.
    const planned = this.#nextAt + r.settings.intervalSeconds * 1000;
    this.#nextAt = planned > now ? planned : now + r.settings.intervalSeconds * 1000;
    if (now < until) this.#nextAt = Math.min(this.#nextAt, until);

    // Everything since the flip (the partial second of the flip included), at most the window.
    const spanSeconds = Math.min(this.#maxSpanSeconds, Math.ceil((now - this.#since(r)) / 1000) + 1);
    const sample = sampleOf(this.#windows.colourSummary(r.colour, spanSeconds), spanSeconds);
    const verdict = records.judge(r, sample, now);
    this.#verdicts = [...this.#verdicts, verdict].slice(-records.MAX_VERIFICATION_VERDICTS);
    const decision = records.decide(r, verdict, now);
    const log = { verification: r.id, colour: r.colour, verdict: verdict.result, reasons: verdict.reasons };
    if (decision === 'revert') {
      const reason = verdict.reasons.join('; ');
      this.#logger.warn(log, `verification of ${r.colour} failed; flipping back to ${r.from}`);
      try {
        await this.#commitOwn((cur, at) => records.revertVerification(cur, at, reason, this.#verdicts, r.id));
      } catch (err) {
        this.#nextAt = 0; // the store refused: the failing colour still serves, judge again next tick
        throw err;
      }
      return;
    }
    if (decision === 'verify') {
      const passed = this.#verdicts.filter((v) => v.result === 'pass').length;
      const reason = `${passed} of ${this.#verdicts.length} verdicts passed over ${Math.round((now - Date.parse(r.startedAt)) / 1000)}s; last: ${describeSample(r.colour, sample)} (before the flip: ${describeSample(r.from, r.baseline)})`;
      this.#logger.info(log, `verification of ${r.colour} passed; ${r.from} is free`);
      await this.#commitOwn((cur, at) => records.passVerification(cur, at, reason, this.#verdicts, r.id));
      return;
    }
    this.#logger.info(log, `verification of ${r.colour}: ${verdict.result}`);
  }

  /** Commits one of the controller's own transitions; one that no longer applies (409) is skipped. */
  async #commitOwn(fn: (current: RoutingState, now: number) => Transition): Promise<void> {
    try {
      const fence = this.#leader ? { fence: this.#leader.id } : {};
      await this.#host.commit((current) => fn(current, this.#clock.now()), { actor: VERIFIER_ACTOR, ...fence });
    } catch (err) {
      if (err instanceof TurnoutError && (err.code === 'TURNOUT_ERR_CONFLICT' || err.code === 'TURNOUT_ERR_NOT_FOUND')) {
        this.#logger.info({ reason: err.message }, 'verification transition skipped');
        return;
      }
      throw err;
    }
  }
}

function sampleOf(summary: ReturnType<WindowSource['colourSummary']>, spanSeconds: number): VerificationSample {
  const p99 = summary.latencyMs.p99;
  return {
    requests: summary.requests,
    errors: summary.errors,
    p99Ms: summary.requests > 0 && typeof p99 === 'number' && Number.isFinite(p99) ? p99 : null,
    spanSeconds,
  };
}

/** `green 280 requests, 0 errors, p99 66.5ms over 5s`: the evidence, short enough for an event line. */
function describeSample(colour: string, s: VerificationSample): string {
  return `${colour} ${s.requests} requests, ${s.errors} errors, p99 ${s.p99Ms === null ? 'n/a' : `${Math.round(s.p99Ms * 10) / 10}ms`} over ${s.spanSeconds}s`;
}
