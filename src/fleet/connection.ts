// The Redis client Turnout uses: the official node-redis 5, as its core package `@redis/client`
// (the `redis` package re-exports it with the search/JSON/bloom/time-series modules Turnout does
// not use, which cost about a second of start-up on a loaded machine). Chosen over ioredis
// because it is the client Redis maintains and recommends for new code (ioredis is in
// maintenance), ships its own types, and has what a control plane needs: per-command timeouts,
// a reconnect strategy, rediss:// (TLS) from the URL, and `disableOfflineQueue` so a command
// issued while disconnected fails at once (→ 503) instead of being replayed minutes later.
//
// One connection for commands, a duplicate for pub/sub (a subscribed connection can do nothing
// else, RESP2). Both reconnect by themselves with a capped backoff; `up` follows the command
// connection's `ready`/`error`/`end` events (turnout_state_store_up).
import { createClient, type RedisClientType } from '@redis/client';
import { TurnoutError } from '../errors.ts';

export interface RedisConnectionOptions {
  readonly url: string;
  /** Opening a connection (default 2000 ms). */
  readonly connectTimeoutMs?: number;
  /** Any one command (default 2000 ms): then it rejects and the store is treated as unreachable. */
  readonly commandTimeoutMs?: number;
  /** Longest wait between reconnect attempts (default 1000 ms). */
  readonly maxBackoffMs?: number;
  readonly onError?: (err: Error) => void;
}

export type Redis = RedisClientType;

export class RedisConnection {
  readonly url: string;
  readonly client: Redis;
  readonly #listeners = new Set<(up: boolean) => void>();
  #up = false;
  #closed = false;

  constructor(options: RedisConnectionOptions) {
    this.url = options.url;
    const maxBackoff = options.maxBackoffMs ?? 1000;
    this.client = createClient({
      url: options.url,
      disableOfflineQueue: true,
      commandOptions: { timeout: options.commandTimeoutMs ?? 2000 },
      // A half-open TCP connection (a node that vanished) is noticed within a ping.
      pingInterval: 1000,
      socket: {
        connectTimeout: options.connectTimeoutMs ?? 2000,
        reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 10), maxBackoff),
      },
    }) as Redis;
    const onError = options.onError ?? (() => {});
    // Without an 'error' listener node-redis would throw from the event emitter and kill the process.
    this.client.on('error', (err: Error) => {
      this.#set(false);
      onError(err);
    });
    this.client.on('end', () => this.#set(false));
    this.client.on('ready', () => this.#set(true));
  }

  get up(): boolean {
    return this.#up;
  }

  /** Called with true on every (re)connection and false on every loss. */
  onUpChange(listener: (up: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** First connection: fails (naming the URL without credentials) if Redis cannot be reached in time. */
  async connect(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), 5000);
    });
    try {
      await Promise.race([this.client.connect(), deadline]);
    } catch (err) {
      this.client.destroy();
      throw new TurnoutError('TURNOUT_ERR_STATE_UNAVAILABLE', `state.url: cannot reach Redis at ${redactUrl(this.url)} (${(err as Error).message})`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs one command; any transport failure becomes TURNOUT_ERR_STATE_UNAVAILABLE (503). */
  async run<T>(args: readonly (string | Buffer)[]): Promise<T> {
    if (this.#closed) throw new TurnoutError('TURNOUT_ERR_STATE_UNAVAILABLE', 'the Redis store is closed');
    try {
      return (await this.client.sendCommand(args)) as T;
    } catch (err) {
      if (err instanceof Error && /ERR|WRONGTYPE|NOSCRIPT/.test(err.message) && this.#up) throw err;
      throw new TurnoutError('TURNOUT_ERR_STATE_UNAVAILABLE', `the state store (Redis) cannot be reached: ${(err as Error).message}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    try {
      if (this.client.isOpen) await this.client.close();
    } catch {
      this.client.destroy();
    }
  }

  #set(up: boolean): void {
    if (this.#up === up) return;
    this.#up = up;
    for (const l of this.#listeners) l(up);
  }
}

/** redis://user:secret@host → redis://user:***@host, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'an invalid URL';
  }
}
