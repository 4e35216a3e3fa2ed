// The periodic loop the rollout and verification controllers share: one unref'd interval timer
// that calls a tick, and one tick at a time (a tick that is still running when the next is due,
// or is asked for by hand, is shared rather than run twice over the same state).

export class Ticker {
  readonly #run: () => Promise<void>;
  readonly #intervalMs: number;
  readonly #onError: (err: unknown) => void;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | null = null;

  constructor(run: () => Promise<void>, intervalMs: number, onError: (err: unknown) => void) {
    this.#run = run;
    this.#intervalMs = intervalMs;
    this.#onError = onError;
  }

  /** Starts the timer (once). */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.tick().catch(this.#onError), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One tick; concurrent calls share the tick in progress. */
  tick(): Promise<void> {
    this.#ticking ??= this.#run().finally(() => {
      this.#ticking = null;
    });
    return this.#ticking;
  }
}
