// Warm spares (CONTRACT §7: "a worker that dies is replaced within 1 second while the others
// serve"). Forking a fresh worker on a death costs a Node start plus the module load and the
// build of its pools and listeners: 0.9–3.3 s measured under load on a 2-core machine, most of it
// CPU that the serving workers want at that moment. A spare pays that cost ahead of time: it is a
// forked worker that has loaded its modules and config, built its pools and listeners and holds
// its certificates, and then waits, not attached to the snapshot channel and not listening. On a
// death the supervisor attaches it: it applies the latest snapshot (one IPC message), binds its
// socket and serves, which takes milliseconds; a new spare is then forked in the background.
//
// The cost is one idle process per spare (its RSS, about what an idle worker takes: README
// "Workers" has the figure), so `spareWorkers: 0` turns it off where memory is tighter than the
// 1 s bound. This file holds the policy (how many, which one to take, when to refill); the
// supervisor owns the processes.

/** What the pool needs to know of a spare process. */
export interface SpareCandidate {
  readonly id: string;
  /** Loaded and built: it serves as soon as it is attached. */
  readonly warm: boolean;
  isDead(): boolean;
}

export interface SparePoolOptions<S extends SpareCandidate> {
  /** How many spares to keep (0: none; `take` then always answers undefined). */
  readonly size: number;
  /** Forks one spare process (the supervisor's job); the pool tracks it until taken or dead. */
  readonly fork: () => S;
  /** Delay before forking again after a spare died before it got warm (default 1000 ms). */
  readonly retryMs?: number;
  readonly setTimer?: (fn: () => void, ms: number) => { unref?(): unknown };
}

export class SparePool<S extends SpareCandidate> {
  readonly #o: SparePoolOptions<S>;
  readonly #spares: S[] = [];
  #stopped = false;
  #retrying = false;

  constructor(options: SparePoolOptions<S>) {
    this.#o = options;
  }

  /** Spares forked and not taken (warm or still loading). */
  list(): readonly S[] {
    return this.#spares;
  }

  /** Forks spares until `size` exist. */
  fill(): void {
    while (!this.#stopped && !this.#retrying && this.#spares.length < this.#o.size) this.#spares.push(this.#o.fork());
  }

  /**
   * The spare to put in a dead worker's place, warm ones first; a spare still loading is taken
   * too (it is ahead of a fresh fork all the same). Does not refill: forking is a synchronous
   * spawn of some ms in the supervisor and the new process's start takes CPU for about a second,
   * so the caller refills once the spare it took serves (`fill`).
   */
  take(): S | undefined {
    const alive = this.#spares.filter((s) => !s.isDead());
    const spare = alive.find((s) => s.warm) ?? alive[0];
    if (spare !== undefined) this.#spares.splice(this.#spares.indexOf(spare), 1);
    return spare;
  }

  /** A spare exited before it was taken: fork another (later, if it never got warm: a start failure). */
  died(spare: S, wasWarm: boolean): void {
    const i = this.#spares.indexOf(spare);
    if (i < 0) return;
    this.#spares.splice(i, 1);
    if (this.#stopped) return;
    if (wasWarm) return this.fill();
    // A spare that cannot start would be re-forked in a tight loop: wait, as for a replacement.
    this.#retrying = true;
    const timer = (this.#o.setTimer ?? setTimeout)(() => {
      this.#retrying = false;
      this.fill();
    }, this.#o.retryMs ?? 1000);
    timer.unref?.();
  }

  /** No more forks (shutdown); the supervisor drains the processes themselves. */
  stop(): void {
    this.#stopped = true;
  }
}
