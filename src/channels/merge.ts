// The control-plane side of the up channel: every TelemetryDelta from every data plane is
// replayed into the one Telemetry (metrics/telemetry.ts) that /api/v1/upstreams, /metrics, the
// dashboard and the rollout analysis read, through the same Recorder calls a single process
// makes. Replaying rather than adding arrays keeps one accounting rule (whatever Telemetry
// counts per request, it counts here), and costs the control plane about what recording costs a
// single process: it is the one place that sees every request.
//
// - Counts are exact: each cell is replayed `count` times.
// - Latency: each cell's requests are replayed at their mean, which lies in the same histogram
//   and Prometheus bucket as each of them, and keeps `_sum` exact.
// - Time: a replay is stamped with the delta's second (ReplayClock), so a window slot holds the
//   requests of the second they finished in, not of the second the delta arrived in. A delta
//   older than `maxLagSeconds` is counted in the current second instead (never in a slot that
//   already holds a newer second).
// - In flight: `begun` is replayed as begin() calls; what a data plane still had in flight when
//   it died is released (a dead worker's requests never end).
// - Passive ejection stays per data plane (each worker ejects on the failures it sees, at
//   request speed); the control plane shows a target ejected while any data plane ejects it.
import { COLOURS, systemClock, type Clock, type Colour, type Outcome } from '../domain.ts';
import type { Recorder } from '../metrics/recorder.ts';
import type { ColourPool } from '../upstream/pool.ts';
import { refreshAvailability, type Target } from '../upstream/target.ts';
import type { DataPlaneId, ShadowDelta, TelemetryDelta } from './types.ts';
import type { ShadowCounts } from '../shadow/stats.ts';

/** A clock that reads `at` while a delta is replayed, else the base clock. Give it to Telemetry. */
export class ReplayClock implements Clock {
  at: number | undefined;
  readonly #base: Clock;
  constructor(base: Clock = systemClock) {
    this.#base = base;
  }
  now(): number {
    return this.at ?? this.#base.now();
  }
}

/** What the merger needs of metrics/telemetry.ts beyond the Recorder calls. */
export interface MergeTarget extends Recorder {
  releaseInFlight(target: Target, n: number): void;
}

export interface TelemetryMergerOptions {
  readonly telemetry: MergeTarget;
  readonly pools: Readonly<Record<Colour, ColourPool>>;
  /** The clock Telemetry was built with. */
  readonly clock: ReplayClock;
  /** Older deltas are counted now (default 5 s; keep it well below metrics.windowSeconds). */
  readonly maxLagSeconds?: number;
}

interface Source {
  /** Requests begun and not yet ended, per colour and target. */
  readonly outstanding: Record<Colour, Int32Array>;
  readonly ejectedUntil: Record<Colour, Float64Array>;
  lastSeq: number;
}

const NO_EJECTION = () => {};

export class TelemetryMerger {
  readonly #telemetry: MergeTarget;
  readonly #pools: Readonly<Record<Colour, ColourPool>>;
  readonly #clock: ReplayClock;
  readonly #maxLagSeconds: number;
  /** One entry per live data plane: bounded by `workers` (removed on forget). */
  readonly #sources = new Map<DataPlaneId, Source>();
  /** Requests merged since start (tests, and a sanity figure for logs). */
  merged = 0;
  /** Deltas that arrived out of order or twice (never merged twice). */
  dropped = 0;

  constructor(options: TelemetryMergerOptions) {
    this.#telemetry = options.telemetry;
    this.#pools = options.pools;
    this.#clock = options.clock;
    this.#maxLagSeconds = options.maxLagSeconds ?? 5;
  }

  merge(delta: TelemetryDelta): void {
    const source = this.#source(delta.from);
    if (delta.seq <= source.lastSeq) {
      this.dropped++;
      return;
    }
    source.lastSeq = delta.seq;
    const nowMs = this.#clock.now();
    const lag = Math.floor(nowMs / 1000) - delta.second;
    // The middle of the delta's second, unless it is too old (or from the future: clock skew).
    const at = lag >= 0 && lag <= this.#maxLagSeconds ? delta.second * 1000 + 500 : nowMs;
    this.#clock.at = at;
    try {
      for (const g of delta.targets) {
        const target = this.#pools[g.colour]?.targets[g.target];
        if (target === undefined) continue;
        for (let i = 0; i < g.begun; i++) this.#telemetry.begin(target);
        source.outstanding[g.colour][g.target]! += g.begun;
        source.ejectedUntil[g.colour][g.target] = g.ejectedUntil;
      }
      for (const cell of delta.cells) {
        const pool = this.#pools[cell.colour];
        if (pool === undefined) continue;
        const target = cell.target >= 0 ? (pool.targets[cell.target] ?? null) : null;
        const statusCode = cell.statusClass * 100;
        const latency = cell.bucket >= 0 && cell.count > 0 ? cell.sumMs / cell.count : 0;
        const outcome: Outcome = cell.outcome;
        if (cell.retried === true) {
          // Failed attempts retried elsewhere: the target's attempts and the colour's retries, no client response.
          if (target !== null && outcome !== 'ok' && outcome !== 'client_abort') {
            for (let i = 0; i < cell.count; i++) this.#telemetry.retry(target, latency, outcome);
          }
        } else {
          for (let i = 0; i < cell.count; i++) this.#telemetry.end(cell.colour, target, statusCode, latency, outcome);
          this.merged += cell.count;
        }
        if (target !== null) {
          const left = source.outstanding[cell.colour][target.index]! - cell.count;
          source.outstanding[cell.colour][target.index] = left > 0 ? left : 0;
        }
      }
    } finally {
      this.#clock.at = undefined;
    }
    this.#showEjections();
  }

  /** A data plane is gone: release what it had in flight and forget its ejections. */
  forget(from: DataPlaneId): void {
    const source = this.#sources.get(from);
    if (source === undefined) return;
    this.#sources.delete(from);
    for (const colour of COLOURS) {
      this.#pools[colour].targets.forEach((target, i) => {
        const n = source.outstanding[colour][i]!;
        if (n > 0) this.#telemetry.releaseInFlight(target, n);
      });
    }
    this.#showEjections();
  }

  #source(from: DataPlaneId): Source {
    let source = this.#sources.get(from);
    if (source === undefined) {
      const n = (c: Colour) => this.#pools[c].targets.length;
      source = {
        outstanding: { blue: new Int32Array(n('blue')), green: new Int32Array(n('green')) },
        ejectedUntil: { blue: new Float64Array(n('blue')), green: new Float64Array(n('green')) },
        lastSeq: 0,
      };
      this.#sources.set(from, source);
    }
    return source;
  }

  /** The control plane's targets show the latest ejection any live data plane reports. */
  #showEjections(): void {
    for (const colour of COLOURS) {
      this.#pools[colour].targets.forEach((target, i) => {
        let until = 0;
        for (const s of this.#sources.values()) until = Math.max(until, s.ejectedUntil[colour][i]!);
        if (target.ejectedUntil !== until) {
          target.ejectedUntil = until;
          refreshAvailability(target, this.#clock, NO_EJECTION, 'reported by a worker');
        }
      });
    }
  }
}

/**
 * The control-plane side of the shadow reports (CONTRACT §9 with workers): every worker's
 * ShadowDelta is added once, in order, into the one shadow comparison the admin API, /metrics
 * and the rollout gate read (shadow/mirror.ts Shadower.absorb). A dead worker's counted pairs
 * stay counted; only its sequence number is forgotten.
 */
export class ShadowMerger {
  readonly #target: { absorb(counts: ShadowCounts): void };
  /** Last seq per live data plane: bounded by `workers` (removed on forget). */
  readonly #lastSeq = new Map<DataPlaneId, number>();
  /** Reports that arrived out of order or twice (never added twice). */
  dropped = 0;

  constructor(target: { absorb(counts: ShadowCounts): void }) {
    this.#target = target;
  }

  merge(delta: ShadowDelta): void {
    if (delta.seq <= (this.#lastSeq.get(delta.from) ?? 0)) {
      this.dropped++;
      return;
    }
    this.#lastSeq.set(delta.from, delta.seq);
    this.#target.absorb(delta);
  }

  forget(from: DataPlaneId): void {
    this.#lastSeq.delete(from);
  }
}
