// Retries as a budget, not a count per request (Envoy's retry budget; Finagle's RetryBudget):
// each request deposits `ratio` of a token, each retry spends one. A failing colour therefore
// gets at most `ratio` extra load, never a multiple of it (PITFALLS: reply-from's 10 retries).

export class RetryBudget {
  private tokens: number;
  private readonly ratio: number;
  private readonly max: number;

  constructor(ratio: number, max = 10) {
    this.ratio = ratio;
    this.max = max;
    // Start full, so the first failures after start-up are retried too (Envoy's min retries).
    this.tokens = max;
  }

  deposit(): void {
    const next = this.tokens + this.ratio;
    this.tokens = next > this.max ? this.max : next;
  }

  tryWithdraw(): boolean {
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
