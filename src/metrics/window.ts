// A sliding window of request outcomes: a ring of per-second slots, each stamped with the second
// it counts. A slot is reset lazily when a record lands in it for a newer second, and a summary
// only reads slots whose stamp lies inside the span asked for, so an idle window needs no timer
// and expires by itself. Everything is preallocated: record() allocates nothing.
import { ERROR_KINDS, systemClock, type Clock, type ErrorKind, type Outcome } from '../domain.ts';
import { LatencyHistogram } from './histogram.ts';

/** Index of each error kind in a slot's counters (ERROR_KINDS order); -1 for `ok` and `client_abort`. */
const KIND_INDEX: Readonly<Record<Outcome, number>> = Object.freeze({
  ok: -1,
  client_abort: -1,
  ...(Object.fromEntries(ERROR_KINDS.map((kind, i) => [kind, i])) as Record<ErrorKind, number>),
});

export interface LatencySummary {
  /** Milliseconds (rounded to 0.01), null when no request in the span had a latency. */
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
}

export interface WindowSummary {
  readonly requests: number;
  /** Upstream errors (CONTRACT §5): client hang-ups and 4xx are not errors. */
  readonly errors: number;
  readonly errorsByKind: Readonly<Record<ErrorKind, number>>;
  /** errors / requests, 0 when there were no requests. */
  readonly errorRate: number;
  readonly latencyMs: LatencySummary;
  /** Failed attempts that were retried on another target (recordRetry); not in `requests`. */
  readonly retries: number;
}

class Slot {
  /** The epoch second this slot counts; -1 when never used. */
  second = -1;
  requests = 0;
  errors = 0;
  retries = 0;
  readonly byKind = new Uint32Array(ERROR_KINDS.length);
  readonly latency = new LatencyHistogram();

  reset(second: number): void {
    this.second = second;
    this.requests = 0;
    this.errors = 0;
    this.retries = 0;
    this.byKind.fill(0);
    this.latency.reset();
  }
}

/** Latencies are reported to 0.01 ms: finer than anything a proxy can promise, and readable. */
export function roundMs(value: number | null): number | null {
  return value === null ? null : Math.round(value * 100) / 100;
}

export class SlidingWindow {
  readonly seconds: number;
  private readonly clock: Clock;
  private readonly slots: Slot[];
  /** Reused by summaries (single-threaded, never held across calls). */
  private readonly scratch = new LatencyHistogram();

  constructor(seconds: number, clock: Clock = systemClock) {
    if (!Number.isInteger(seconds) || seconds < 1) throw new RangeError(`window seconds must be a positive integer, got ${seconds}`);
    this.seconds = seconds;
    this.clock = clock;
    this.slots = Array.from({ length: seconds }, () => new Slot());
  }

  /**
   * Counts one finished request. `latencyMs` undefined: the request had no upstream exchange
   * (the proxy's own 503) and says nothing about latency. `nowMs` lets a caller that records
   * into several windows read the clock once.
   */
  record(outcome: Outcome, latencyMs?: number, nowMs: number = this.clock.now()): void {
    const slot = this.slotAt(nowMs);
    slot.requests++;
    const kind = KIND_INDEX[outcome];
    if (kind >= 0) {
      slot.errors++;
      slot.byKind[kind]!++;
    }
    if (latencyMs !== undefined) slot.latency.record(latencyMs);
  }

  /** Counts one retry: a failed attempt that another attempt replaced, so no client saw it. */
  recordRetry(nowMs: number = this.clock.now()): void {
    this.slotAt(nowMs).retries++;
  }

  private slotAt(nowMs: number): Slot {
    const second = Math.floor(nowMs / 1000);
    const slot = this.slots[second % this.seconds]!;
    if (slot.second !== second) slot.reset(second);
    return slot;
  }

  /**
   * The last `spanSeconds` (default and at most the whole window): the current second so far and
   * the `spanSeconds − 1` before it.
   */
  summary(spanSeconds: number = this.seconds): WindowSummary {
    const span = Math.max(1, Math.min(this.seconds, Math.floor(spanSeconds)));
    const now = Math.floor(this.clock.now() / 1000);
    const oldest = now - span + 1;
    const byKind = new Array<number>(ERROR_KINDS.length).fill(0);
    const hist = this.scratch;
    hist.reset();
    let requests = 0;
    let errors = 0;
    let retries = 0;
    for (const slot of this.slots) {
      // A stamp in the future (the clock stepped back) is ignored, as is anything too old.
      if (slot.second < oldest || slot.second > now) continue;
      requests += slot.requests;
      errors += slot.errors;
      retries += slot.retries;
      for (let k = 0; k < byKind.length; k++) byKind[k]! += slot.byKind[k]!;
      hist.merge(slot.latency);
    }
    const errorsByKind = {} as Record<ErrorKind, number>;
    ERROR_KINDS.forEach((kind, k) => (errorsByKind[kind] = byKind[k]!));
    return {
      requests,
      errors,
      errorsByKind,
      errorRate: requests === 0 ? 0 : errors / requests,
      latencyMs: { p50: roundMs(hist.quantile(0.5)), p90: roundMs(hist.quantile(0.9)), p99: roundMs(hist.quantile(0.99)) },
      retries,
    };
  }
}
