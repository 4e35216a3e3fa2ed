// One replica's membership of a fleet (CONTRACT §6): the Redis connections, the shared store, the
// heartbeat, the convergence acks, the rollout lease and what happens when Redis goes away.
//
//   commit on replica A ──CAS script──▶ Redis ──PUBLISH commits v──▶ every replica: refresh()
//        │                                                            (re-read, adopt if newer)
//        └─ answer waits ◀── PUBLISH acks "B v" ◀── each replica once it routes by v
//
// Pub/sub is at-most-once (a message published while a subscriber reconnects is lost), so every
// heartbeat also compares the stored version with the applied one: a lost notification costs
// at most one heartbeat period. Nothing here is on the per-request path: the data plane reads
// the StateManager's local snapshot, so requests keep flowing while Redis is down.
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { systemClock, type Clock } from '../domain.ts';
import type { StateManager } from '../state/manager.ts';
import type { RoutingState } from '../state/model.ts';
import { RedisConnection } from './connection.ts';
import { fleetKeys, type FleetKeys } from './keys.ts';
import { Lease } from './lease.ts';
import { RedisStore } from './redis-store.ts';

export interface FleetOptions {
  readonly url: string;
  readonly prefix: string;
  /** CONTRACT §10: whose state, events, acks, telemetry and lease (fleet/keys.ts); default `default`. */
  readonly service?: string;
  /**
   * Whether this Fleet writes the replica's heartbeat (default true). With several services a
   * replica has one Fleet per service and only the first one beats, so the replica's
   * `appliedVersion` is one service's and does not flap between them.
   */
  readonly heartbeat?: boolean;
  /**
   * Another Fleet of this replica (CONTRACT §10: one per service) whose two Redis connections and
   * replica id this one uses; it neither opens nor closes connections of its own. Close it before
   * the one it shares.
   */
  readonly share?: Fleet;
  /** Empty: `<hostname>-<pid>-<random>`. */
  readonly replica?: string;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly convergeTimeoutMs: number;
  /** Data-plane processes of this replica (CONTRACT §4 `workers`). */
  readonly workers?: number;
  readonly clock?: Clock;
  readonly logger?: { warn(obj: object, msg?: string): void; info(obj: object, msg?: string): void };
}

/** One entry of GET /api/v1/fleet. */
export interface ReplicaView {
  readonly id: string;
  readonly self: boolean;
  readonly startedAt: string;
  readonly lastSeen: string;
  readonly appliedVersion: number;
  readonly workers: number;
  readonly leader: boolean;
}

export interface Converged {
  readonly applied: number;
  readonly replicas: number;
  /** Live replicas that had not applied the version when the answer went out. */
  readonly lagging: readonly string[];
}

interface Heartbeat {
  readonly id: string;
  readonly startedAt: string;
  readonly lastSeen: string;
  readonly appliedVersion: number;
  readonly workers: number;
}

interface Waiter {
  readonly version: number;
  readonly pending: Set<string>;
  readonly done: () => void;
}

export function defaultReplicaId(): string {
  const host = os.hostname().replace(/[^A-Za-z0-9._-]/g, '').slice(0, 40) || 'turnout';
  return `${host}-${process.pid}-${randomBytes(2).toString('hex')}`;
}

export class Fleet {
  readonly id: string;
  readonly keys: FleetKeys;
  readonly connection: RedisConnection;
  readonly store: RedisStore;
  readonly lease: Lease;
  readonly startedAt: string;
  readonly #sub: RedisConnection;
  readonly #options: FleetOptions;
  readonly #clock: Clock;
  /** Latest version each replica acked (bounded: replicas come and go with new ids). */
  readonly #acked = new LRUCache<string, number>({ max: 1000 });
  readonly #waiters = new Set<Waiter>();
  #state: StateManager | null = null;
  #timer: NodeJS.Timeout | undefined;
  #lastReplicas: ReplicaView[] = [];
  #connectedOnce = false;
  /** Acks wait for the data planes (workers) to confirm. */
  #confirmed = false;
  #closed = false;

  private constructor(options: FleetOptions, connection: RedisConnection, sub: RedisConnection) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.id = options.share?.id ?? (options.replica || defaultReplicaId());
    this.keys = fleetKeys(options.prefix, options.service);
    this.connection = connection;
    this.#sub = sub;
    this.startedAt = new Date(this.#clock.now()).toISOString();
    this.store = new RedisStore({ connection, prefix: options.prefix, replica: this.id, ...(options.service ? { service: options.service } : {}) });
    this.lease = new Lease({
      connection,
      key: this.keys.leader,
      id: this.id,
      leaseMs: options.leaseMs,
      clock: this.#clock,
      onChange: (held) => options.logger?.info({ replica: this.id, leader: held }, held ? 'this replica now leads the rollout controller' : 'this replica is no longer the rollout leader'),
    });
  }

  /** Connects both connections (fails naming the URL when Redis cannot be reached). */
  static async open(options: FleetOptions): Promise<Fleet> {
    const share = options.share;
    if (share !== undefined) {
      const fleet = new Fleet(options, share.connection, share.#sub);
      share.connection.onUpChange((up) => fleet.#onUpChange(up));
      fleet.#connectedOnce = true;
      return fleet;
    }
    const warn = (what: string) => (err: Error) => options.logger?.warn({ err: err.message }, `redis ${what} connection: ${err.message}`);
    const connection = new RedisConnection({ url: options.url, onError: warn('command') });
    const sub = new RedisConnection({ url: options.url, onError: warn('subscriber') });
    await connection.connect();
    try {
      await sub.connect();
    } catch (err) {
      await connection.close();
      throw err;
    }
    const fleet = new Fleet(options, connection, sub);
    connection.onUpChange((up) => fleet.#onUpChange(up));
    fleet.#connectedOnce = true;
    return fleet;
  }

  /** Whether the shared store is reachable now (turnout_state_store_up). */
  /** The pub/sub connection (the telemetry transport subscribes on it too). */
  get subscriber(): RedisConnection {
    return this.#sub;
  }

  get up(): boolean {
    return this.connection.up;
  }

  get convergeTimeoutMs(): number {
    return this.#options.convergeTimeoutMs;
  }

  /**
   * Starts following the fleet: commits, acks, heartbeats. `lead`: also compete for the rollout
   * lease. `routedBy`: resolves once this replica's data planes route by a state (with
   * `workers: N`, the SnapshotPublisher's publish of it); the ack waits for it, so `converged`
   * means every worker of every replica. Default: the in-process data plane, at once.
   */
  async start(state: StateManager, options: { lead: boolean; routedBy?: (state: RoutingState) => Promise<unknown> }): Promise<void> {
    this.#state = state;
    const routedBy = options.routedBy;
    this.#confirmed = routedBy !== undefined;
    state.onApplied((s) => {
      if (routedBy === undefined) return this.#ack(s);
      routedBy(s).then(
        () => this.#ack(s),
        () => this.#ack(s),
      );
    });
    const client = this.#sub.client;
    await client.subscribe(this.keys.commits, (message: string) => {
      if (Number(message) > (this.#state?.state.version ?? Infinity)) void this.#refresh();
    });
    await client.subscribe(this.keys.acks, (message: string) => this.#onAck(message));
    // Anything committed between our load and the subscription.
    await this.#refresh();
    if (routedBy === undefined) this.#ack(state.state);
    else await routedBy(state.state).finally(() => this.#ack(state.state));
    await this.#beat();
    this.#timer = setInterval(() => void this.#beat(), this.#options.heartbeatMs);
    this.#timer.unref();
    if (options.lead) this.lease.start();
  }

  /**
   * Waits until every live replica applied `version`, or convergeTimeoutMs. Never throws: with
   * Redis unreachable it answers what it knows.
   */
  async converge(version: number): Promise<Converged> {
    let live: string[];
    try {
      live = (await this.replicas()).map((r) => r.id);
      const versions = await this.connection.run<(string | null)[]>(['HMGET', this.keys.applied, ...live]);
      live.forEach((id, i) => this.#noteAck(id, Number(versions[i] ?? 0)));
    } catch {
      live = [this.id];
    }
    // In-process data plane: applied the moment the StateManager swapped its snapshot.
    if (!this.#confirmed) this.#noteAck(this.id, this.#state?.state.version ?? 0);
    const pending = new Set(live.filter((id) => (this.#acked.get(id) ?? 0) < version));
    if (pending.size > 0 && this.#options.convergeTimeoutMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => done(), this.#options.convergeTimeoutMs);
        const waiter: Waiter = { version, pending, done: () => done() };
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve();
        };
        this.#waiters.add(waiter);
      });
    }
    const lagging = live.filter((id) => (this.#acked.get(id) ?? 0) < version).sort();
    return { applied: live.length - lagging.length, replicas: live.length, lagging };
  }

  /** The live replicas (heartbeat not expired), for GET /api/v1/fleet; the last known list while Redis is down. */
  async replicas(): Promise<ReplicaView[]> {
    try {
      const ids = (await this.connection.run<string[]>(['SMEMBERS', this.keys.replicas])).sort();
      const beats = ids.length === 0 ? [] : await this.connection.run<(string | null)[]>(['MGET', ...ids.map((id) => this.keys.heartbeat(id))]);
      const applied = ids.length === 0 ? [] : await this.connection.run<(string | null)[]>(['HMGET', this.keys.applied, ...ids]);
      const leader = await this.connection.run<string | null>(['GET', this.keys.leader]);
      const views: ReplicaView[] = [];
      const gone: string[] = [];
      ids.forEach((id, i) => {
        const beat = beats[i];
        if (beat == null) return void gone.push(id);
        const hb = JSON.parse(beat) as Heartbeat;
        views.push({
          id,
          self: id === this.id,
          startedAt: hb.startedAt,
          lastSeen: hb.lastSeen,
          appliedVersion: Math.max(hb.appliedVersion, Number(applied[i] ?? 0)),
          workers: hb.workers,
          leader: leader === id,
        });
      });
      if (gone.length > 0) {
        await this.connection.run(['SREM', this.keys.replicas, ...gone]);
        await this.connection.run(['HDEL', this.keys.applied, ...gone]);
      }
      if (!views.some((v) => v.self)) views.push(this.#selfView(leader === this.id));
      this.#lastReplicas = views;
      return views;
    } catch {
      const others = this.#lastReplicas.filter((v) => !v.self);
      return [...others, this.#selfView(this.lease.held)].sort((a, b) => a.id.localeCompare(b.id));
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.lease.stop();
    for (const w of this.#waiters) w.done();
    // Leave at once rather than when the heartbeat expires.
    if (this.#options.heartbeat !== false) {
      await this.connection.run(['DEL', this.keys.heartbeat(this.id)]).catch(() => {});
      await this.connection.run(['SREM', this.keys.replicas, this.id]).catch(() => {});
    }
    if (this.#options.share !== undefined) {
      // The connections are the other Fleet's: only stop listening on this service's channels.
      await this.#sub.client.unsubscribe([this.keys.commits, this.keys.acks]).catch(() => {});
      return;
    }
    await this.#sub.close();
    await this.connection.close();
  }

  #selfView(leader: boolean): ReplicaView {
    const now = new Date(this.#clock.now()).toISOString();
    return { id: this.id, self: true, startedAt: this.startedAt, lastSeen: now, appliedVersion: this.#state?.state.version ?? 0, workers: this.#options.workers ?? 1, leader };
  }

  async #refresh(): Promise<void> {
    try {
      await this.#state?.refresh();
    } catch (err) {
      this.#options.logger?.warn({ err: (err as Error).message }, 'could not re-read the shared state');
    }
  }

  /** Tells the fleet this replica now routes by `state.version` (fire and forget). */
  #ack(state: RoutingState): void {
    this.#noteAck(this.id, state.version);
    if (this.#closed || !this.connection.up) return;
    const v = String(state.version);
    this.connection.run(['HSET', this.keys.applied, this.id, v]).catch(() => {});
    this.connection.run(['PUBLISH', this.keys.acks, `${this.id} ${v}`]).catch(() => {});
  }

  #onAck(message: string): void {
    const space = message.lastIndexOf(' ');
    if (space <= 0) return;
    this.#noteAck(message.slice(0, space), Number(message.slice(space + 1)));
  }

  #noteAck(id: string, version: number): void {
    if (!Number.isFinite(version)) return;
    if ((this.#acked.get(id) ?? -1) < version) this.#acked.set(id, version);
    for (const w of this.#waiters) {
      if (w.pending.has(id) && (this.#acked.get(id) ?? 0) >= w.version) {
        w.pending.delete(id);
        if (w.pending.size === 0) w.done();
      }
    }
  }

  /** Heartbeat (TTL 3 periods) and the version check that catches a lost notification. */
  async #beat(): Promise<void> {
    const state = this.#state;
    if (this.#closed || state === null || !this.connection.up) return;
    const hb: Heartbeat = {
      id: this.id,
      startedAt: this.startedAt,
      lastSeen: new Date(this.#clock.now()).toISOString(),
      appliedVersion: state.state.version,
      workers: this.#options.workers ?? 1,
    };
    try {
      if (this.#options.heartbeat !== false) {
        await this.connection.run(['SET', this.keys.heartbeat(this.id), JSON.stringify(hb), 'PX', String(this.#options.heartbeatMs * 3)]);
        await this.connection.run(['SADD', this.keys.replicas, this.id]);
      }
      const stored = await this.connection.run<string | null>(['HGET', this.keys.state, 'version']);
      // No state, or an older one than ours (a lagging replica wrote back first): highest wins.
      if (stored === null || Number(stored) < state.state.version) await this.#writeBack();
      else if (Number(stored) > state.state.version) await this.#refresh();
    } catch {
      // Unreachable: the 'ready' event after reconnecting does the rest.
    }
  }

  /** Redis lost Turnout's keys (restarted without persistence): put back what we route by. */
  async #writeBack(): Promise<void> {
    const state = this.#state;
    if (state === null) return;
    if (await this.store.restore(state.state)) {
      this.#options.logger?.warn({ version: state.state.version }, 'Redis had no Turnout state: wrote back the last applied state');
    }
    await this.#refresh();
  }

  #onUpChange(up: boolean): void {
    if (!this.#connectedOnce || this.#closed) return;
    if (!up) {
      this.#options.logger?.warn({ replica: this.id }, 'lost the state store (Redis): routing on the last applied state; admin writes answer 503');
      return;
    }
    this.#options.logger?.info({ replica: this.id }, 'state store (Redis) reachable again: reloading');
    // Reload by ourselves, write back if Redis came back empty, and say we are alive.
    void this.#beat();
  }
}
