// The data plane's Recorder: per colour and per target sliding windows (GET /api/v1/upstreams,
// rollout analysis, the dashboard), in-flight counts, and cumulative totals that the Prometheus
// collectors read at scrape time. One call per finished request, no allocation on that path.
// A colour's window counts client responses; a target's window counts attempts (recorder.ts).
import { systemClock, type Clock, type Colour, type ErrorKind, type Outcome } from '../domain.ts';
import type { ColourPool } from '../upstream/pool.ts';
import type { Target } from '../upstream/target.ts';
import type { Recorder } from './recorder.ts';
import { ColourTotals } from './totals.ts';
import { SlidingWindow, type LatencySummary, type WindowSummary } from './window.ts';

/** A target's (or a colour's summed) upstream connections: busy, the pool's size, requests waiting (upstream/connection-gate.ts). */
export interface ConnectionsSummary {
  readonly busy: number;
  readonly max: number;
  readonly queued: number;
}

/** One target in GET /api/v1/upstreams (CONTRACT §4). */
export interface TargetSummary {
  readonly url: string;
  /** Would be picked now: probe-healthy and not ejected. */
  readonly healthy: boolean;
  /** Attempts sent to this target, retried ones included. */
  readonly requests: number;
  /** Failed attempts (CONTRACT §5), retried ones included. */
  readonly errors: number;
  readonly errorRate: number;
  readonly latencyMs: LatencySummary;
  readonly inFlight: number;
  /** Pool saturation: `busy` of `max` connections in use, `queued` requests waiting for one. */
  readonly connections: ConnectionsSummary;
}

/** One colour in GET /api/v1/upstreams: the S object of CONTRACT §4. */
export interface ColourSummary {
  /** At least one target is healthy. */
  readonly healthy: boolean;
  /** Client responses (a retried request counts once). */
  readonly requests: number;
  /** Client responses that were errors (CONTRACT §5): a failed attempt retried with success is not one. */
  readonly errors: number;
  readonly errorRate: number;
  /** What clients waited, retries included. */
  readonly latencyMs: LatencySummary;
  /** Attempts in flight, over all targets. */
  readonly inFlight: number;
  /** Failed attempts retried on another target (counted in the targets' figures, not the colour's). */
  readonly retries: number;
  /** Summed over the colour's targets. */
  readonly connections: ConnectionsSummary;
  readonly targets: readonly TargetSummary[];
}

/** The body of GET /api/v1/upstreams. */
export interface UpstreamsView {
  readonly windowSeconds: number;
  readonly colours: Readonly<Record<Colour, ColourSummary>>;
}

export interface TelemetryOptions {
  readonly pools: Readonly<Record<Colour, ColourPool>>;
  /** Length of the sliding windows (CONTRACT §4: default 60). */
  readonly windowSeconds: number;
  readonly clock?: Clock;
}

interface ColourState {
  readonly pool: ColourPool;
  readonly window: SlidingWindow;
  readonly targetWindows: readonly SlidingWindow[];
  readonly inFlight: Int32Array;
  readonly totals: ColourTotals;
}

export class Telemetry implements Recorder {
  readonly windowSeconds: number;
  private readonly clock: Clock;
  private readonly colours: Readonly<Record<Colour, ColourState>>;

  constructor(options: TelemetryOptions) {
    this.windowSeconds = options.windowSeconds;
    this.clock = options.clock ?? systemClock;
    const make = (colour: Colour): ColourState => {
      const pool = options.pools[colour];
      const n = pool.targets.length;
      return {
        pool,
        window: new SlidingWindow(options.windowSeconds, this.clock),
        targetWindows: pool.targets.map(() => new SlidingWindow(options.windowSeconds, this.clock)),
        inFlight: new Int32Array(n),
        totals: new ColourTotals(n),
      };
    };
    this.colours = { blue: make('blue'), green: make('green') };
  }

  begin(target: Target): void {
    const inFlight = this.colours[target.colour].inFlight;
    if (target.index < inFlight.length) inFlight[target.index]!++;
  }

  retry(target: Target, attemptMs: number, outcome: ErrorKind): void {
    const state = this.colours[target.colour];
    const index = target.index;
    if (index >= state.targetWindows.length) return;
    const now = this.clock.now();
    state.targetWindows[index]!.record(outcome, attemptMs, now);
    if (state.inFlight[index]! > 0) state.inFlight[index]!--;
    state.window.recordRetry(now);
    state.totals.recordRetry(index, outcome);
  }

  end(colour: Colour, target: Target | null, statusCode: number, durationMs: number, outcome: Outcome, attemptMs: number = durationMs): void {
    const state = this.colours[colour];
    // Only an exchange with a target has a latency; the proxy's own 503 took no upstream time.
    // Hang-ups keep theirs: a canary so slow that clients give up must still show in p99.
    const latency = target === null ? undefined : durationMs;
    const now = this.clock.now();
    state.window.record(outcome, latency, now);
    let index = -1;
    if (target !== null && target.colour === colour && target.index < state.targetWindows.length) {
      index = target.index;
      state.targetWindows[index]!.record(outcome, attemptMs, now);
      if (state.inFlight[index]! > 0) state.inFlight[index]!--;
    }
    state.totals.record(index, statusCode, outcome, latency);
  }

  /** The colour's client responses over the last `spanSeconds` (default the whole window), with errors by kind. */
  colourWindow(colour: Colour, spanSeconds?: number): WindowSummary {
    return this.colours[colour].window.summary(spanSeconds);
  }

  /** The S object of CONTRACT §4 for one colour, over the last `spanSeconds` (default the whole window). */
  colourSummary(colour: Colour, spanSeconds?: number): ColourSummary {
    const state = this.colours[colour];
    const now = this.clock.now();
    const s = state.window.summary(spanSeconds);
    let inFlight = 0;
    let healthy = false;
    const connections = { busy: 0, max: 0, queued: 0 };
    const targets = state.pool.targets.map((target, i): TargetSummary => {
      const t = state.targetWindows[i]!.summary(spanSeconds);
      const available = isAvailable(target, now);
      healthy ||= available;
      inFlight += state.inFlight[i]!;
      const gate = state.pool.gates[i]!;
      const c = { busy: gate.busy, max: gate.max, queued: gate.queued };
      connections.busy += c.busy;
      connections.max += c.max;
      connections.queued += c.queued;
      return {
        url: target.url,
        healthy: available,
        requests: t.requests,
        errors: t.errors,
        errorRate: t.errorRate,
        latencyMs: t.latencyMs,
        inFlight: state.inFlight[i]!,
        connections: c,
      };
    });
    return { healthy, requests: s.requests, errors: s.errors, errorRate: s.errorRate, latencyMs: s.latencyMs, inFlight, retries: s.retries, connections, targets };
  }

  /** The body of GET /api/v1/upstreams. */
  upstreams(): UpstreamsView {
    return { windowSeconds: this.windowSeconds, colours: { blue: this.colourSummary('blue'), green: this.colourSummary('green') } };
  }

  /** Requests in flight to one target now. */
  inFlightOf(target: Target): number {
    return this.colours[target.colour].inFlight[target.index] ?? 0;
  }

  /**
   * Forgets `n` requests in flight to `target` that will never end: a worker that died with them
   * (channels/merge.ts). Counts nothing.
   */
  releaseInFlight(target: Target, n: number): void {
    const inFlight = this.colours[target.colour].inFlight;
    if (target.index < inFlight.length) inFlight[target.index] = Math.max(0, inFlight[target.index]! - n);
  }

  /** Cumulative counters since start (Prometheus collectors read these at scrape time). */
  totals(colour: Colour): ColourTotals {
    return this.colours[colour].totals;
  }
}

/**
 * Whether the balancer would pick this target now. Reads without side effects: an ejection that
 * has run out counts as over even before pick() notices and flips `available`.
 */
export function isAvailable(target: Target, now: number): boolean {
  return target.available || (target.probeHealthy && target.ejectedUntil <= now);
}
