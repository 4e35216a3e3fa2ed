// The rollout controller's lease (CONTRACT §6: one controller per fleet). `SET key id NX PX
// leaseMs` takes it; the holder renews it every leaseMs / 3 with a compare-and-PEXPIRE, and
// releases it on shutdown with a compare-and-delete (both Lua, so a replica never extends or
// deletes a lease another replica took after its own expired — the Redlock single-instance
// recipe). Locally the lease counts as held only until the last successful renewal's send time
// plus leaseMs, so a holder cut off from Redis stops acting before another can take over; and its
// commits are fenced in the store anyway (the CAS script checks the lease).
import { systemClock, type Clock } from '../domain.ts';
import type { RedisConnection } from './connection.ts';

/** Take the lease if free (SET NX PX), renew it if ours (PEXPIRE), else 0. */
const ACQUIRE = `
local v = redis.call('GET', KEYS[1])
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export interface LeaseOptions {
  readonly connection: RedisConnection;
  readonly key: string;
  /** This replica's id: the lease's value and the fence of the controller's commits. */
  readonly id: string;
  readonly leaseMs: number;
  readonly clock?: Clock;
  readonly onChange?: (held: boolean) => void;
}

export class Lease {
  readonly id: string;
  readonly #options: LeaseOptions;
  readonly #clock: Clock;
  #validUntil = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | null = null;
  #wasHeld = false;

  constructor(options: LeaseOptions) {
    this.#options = options;
    this.id = options.id;
    this.#clock = options.clock ?? systemClock;
  }

  /** True while this replica may act as the leader. */
  get held(): boolean {
    return this.#clock.now() < this.#validUntil;
  }

  /** One acquire-or-renew round (the timer calls it every leaseMs / 3; tests may call it directly). */
  tick(): Promise<void> {
    this.#running ??= this.#tick().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    void this.tick();
    this.#timer = setInterval(() => void this.tick(), Math.max(1, Math.floor(this.#options.leaseMs / 3)));
    this.#timer.unref();
  }

  /** Stops renewing and releases the lease if still ours, so a survivor takes over at once. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
    const wasHeld = this.held;
    this.#validUntil = 0;
    this.#notify();
    if (!wasHeld) return;
    const { connection, key, id } = this.#options;
    await connection.run(['EVAL', RELEASE, '1', key, id]).catch(() => {});
  }

  async #tick(): Promise<void> {
    const { connection, key, id, leaseMs } = this.#options;
    const sentAt = this.#clock.now();
    try {
      const ours = await connection.run<number>(['EVAL', ACQUIRE, '1', key, id, String(leaseMs)]);
      this.#validUntil = ours === 1 ? sentAt + leaseMs : 0;
    } catch {
      // Redis unreachable: keep what we had; `held` runs out by itself at #validUntil.
    }
    this.#notify();
  }

  #notify(): void {
    const held = this.held;
    if (held !== this.#wasHeld) {
      this.#wasHeld = held;
      this.#options.onChange?.(held);
    }
  }
}
