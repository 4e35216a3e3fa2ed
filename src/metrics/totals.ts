// Cumulative counters of one colour since the process started, for Prometheus: client responses
// by the target that gave them and status class, errors among them by kind, retried attempts by
// target and kind, and a coarse latency histogram of what clients waited.
// Plain typed arrays bumped once per request; the prom-client collectors read them at scrape
// time (PITFALLS: prom-client on the hot path costs 4–6 µs a request).
import { ERROR_KINDS, type Outcome } from '../domain.ts';

/** Status class labels; `none` is a client that hung up before any answer (status 0). */
export const STATUS_CLASSES = Object.freeze(['none', '1xx', '2xx', '3xx', '4xx', '5xx'] as const);
export type StatusClass = (typeof STATUS_CLASSES)[number];

/** Upper bounds (seconds) of the Prometheus latency buckets; +Inf is implied. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
]);
const BOUNDS_MS = LATENCY_BUCKETS_SECONDS.map((s) => s * 1000);

const ERROR_INDEX: Readonly<Record<string, number>> = Object.freeze(Object.fromEntries(ERROR_KINDS.map((kind, i) => [kind, i])));

export function statusClassIndex(statusCode: number): number {
  const c = Math.floor(statusCode / 100);
  return c >= 1 && c <= 5 ? c : 0;
}

export class ColourTotals {
  /** Number of targets; row `targets` (the last) counts requests that reached no target. */
  readonly targets: number;
  /** [row × STATUS_CLASSES.length + class] */
  readonly requests: Float64Array;
  /** [row × ERROR_KINDS.length + kind] */
  readonly errors: Float64Array;
  /** Failed attempts that were retried, by the target that failed: [row × ERROR_KINDS.length + kind]. */
  readonly retries: Float64Array;
  /** Non-cumulative counts per latency bucket; the last slot is +Inf. */
  readonly latencyBuckets = new Float64Array(LATENCY_BUCKETS_SECONDS.length + 1);
  latencySumSeconds = 0;
  latencyCount = 0;

  constructor(targets: number) {
    this.targets = targets;
    this.requests = new Float64Array((targets + 1) * STATUS_CLASSES.length);
    this.errors = new Float64Array((targets + 1) * ERROR_KINDS.length);
    this.retries = new Float64Array((targets + 1) * ERROR_KINDS.length);
  }

  /** A failed attempt on target `targetIndex` that was retried elsewhere. */
  recordRetry(targetIndex: number, outcome: Outcome): void {
    const row = targetIndex >= 0 && targetIndex < this.targets ? targetIndex : this.targets;
    const kind = ERROR_INDEX[outcome];
    if (kind !== undefined) this.retries[row * ERROR_KINDS.length + kind]!++;
  }

  /** One client response. `targetIndex` −1: no target was picked. `latencyMs` undefined: no upstream exchange. */
  record(targetIndex: number, statusCode: number, outcome: Outcome, latencyMs: number | undefined): void {
    const row = targetIndex >= 0 && targetIndex < this.targets ? targetIndex : this.targets;
    this.requests[row * STATUS_CLASSES.length + statusClassIndex(statusCode)]!++;
    const kind = ERROR_INDEX[outcome];
    if (kind !== undefined) this.errors[row * ERROR_KINDS.length + kind]!++;
    if (latencyMs !== undefined) {
      let b = 0;
      while (b < BOUNDS_MS.length && latencyMs > BOUNDS_MS[b]!) b++;
      this.latencyBuckets[b]!++;
      this.latencySumSeconds += latencyMs / 1000;
      this.latencyCount++;
    }
  }
}
