// Retries as a budget, not a count per request (Finagle's RetryBudget; Envoy's retry_budget):
// every request a colour receives earns `ratio` of a retry, every retry spends one, and both
// expire after `windowSeconds`. A small reserve (`minRetries` per window) lets a quiet colour
// retry too. Exactly:
//
//   a retry is allowed iff  minRetries + ratio × requests − retries ≥ 1,
//   counting the colour's requests and retries of the last `windowSeconds` (10 one-second slots)
//
// so in any such window retries ≤ minRetries + ratio × requests: a colour failing everywhere gets
// at most (1 + ratio) × its load plus the reserve, never a multiple of it (PITFALLS: reply-from's
// 10 retries per GET). And since the credit is proportional to recent traffic rather than capped
// at a constant, the burst of requests in flight on a target that dies is covered: with
// ratio 0.2 that holds while the dying target carried at most 2 s of the colour's traffic in flight
// (10 s × 0.2), whatever the rate; a fixed bucket of 10 tokens covered 10 requests (issue 12).
import type { Clock } from '../domain.ts';

/** Monotonic milliseconds: the budget only measures how long ago, and the data plane has this value at hand. */
const monotonicClock: Clock = Object.freeze({ now: () => performance.now() });

export interface RetryBudgetOptions {
  /** Default performance.now(); a `nowMs` passed to deposit/tryWithdraw must be on the same scale. */
  readonly clock?: Clock;
  /** How long a request's credit and a retry's cost count; default 10 s. */
  readonly windowSeconds?: number;
  /** Retries allowed in any window whatever the traffic; default 10. */
  readonly minRetries?: number;
}

export class RetryBudget {
  readonly ratio: number;
  readonly windowSeconds: number;
  readonly minRetries: number;
  private readonly clock: Clock;
  /** Per one-second slot: the second it counts (−1 unused), requests, retries. */
  private readonly seconds: Float64Array;
  private readonly requests: Float64Array;
  private readonly retries: Float64Array;

  constructor(ratio: number, options: RetryBudgetOptions = {}) {
    this.ratio = ratio;
    this.clock = options.clock ?? monotonicClock;
    this.windowSeconds = options.windowSeconds ?? 10;
    this.minRetries = options.minRetries ?? 10;
    const n = this.windowSeconds;
    this.seconds = new Float64Array(n).fill(-1);
    this.requests = new Float64Array(n);
    this.retries = new Float64Array(n);
  }

  /**
   * A request arrived for the colour: earns `ratio` of a retry. Per request, so it takes the
   * caller's clock reading (a clock read costs 0.1–0.3 µs on a busy VM) when it has one.
   */
  deposit(nowMs: number = this.clock.now()): void {
    this.requests[this.slot(nowMs)]!++;
  }

  /** Spends one retry if the budget allows it. */
  tryWithdraw(nowMs: number = this.clock.now()): boolean {
    if (this.balance(nowMs) < 1) return false;
    this.retries[this.slot(nowMs)]!++;
    return true;
  }

  /** Retries the budget would allow now (may be fractional). */
  balance(nowMs: number = this.clock.now()): number {
    const now = Math.floor(nowMs / 1000);
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < this.windowSeconds; i++) {
      const second = this.seconds[i]!;
      if (second > now - this.windowSeconds && second <= now) {
        requests += this.requests[i]!;
        retries += this.retries[i]!;
      }
    }
    return this.minRetries + this.ratio * requests - retries;
  }

  /** The slot of the current second, cleared when it last counted an older second. */
  private slot(nowMs: number): number {
    const second = Math.floor(nowMs / 1000);
    const i = second % this.windowSeconds;
    if (this.seconds[i] !== second) {
      this.seconds[i] = second;
      this.requests[i] = 0;
      this.retries[i] = 0;
    }
    return i;
  }
}
