// StateManager: the single writer of the dynamic state. Changes are serialized through a promise
// queue; each one is checked (If-Match), computed by a pure transition, written durably by the
// store, and only then published: a new frozen snapshot swapped in whole (what the data plane
// reads per request, synchronously), listeners notified, the caller's promise resolved.
import type { Clock, Colour, Weight } from '../domain.ts';
import { deepFreeze, systemClock } from '../domain.ts';
import { TurnoutError } from '../errors.ts';
import type { AuditEvent, RoutingSnapshot, RoutingState, Transition } from './model.ts';
import * as model from './model.ts';
import type { StateStore } from './store.ts';
import { isVersionedStore } from './store.ts';

/** Compare-and-set attempts before a change gives up (each lost one means another replica committed). */
export const MAX_CAS_ATTEMPTS = 50;

export interface ChangeMeta {
  /** Who asked: `admin`, an operator's name, `rollout`… */
  actor: string;
  reason?: string;
  /** The version the caller last saw; a different current version → 412 and nothing changes. */
  ifMatch?: number;
  /** A lease the writer must still hold when the shared store commits (the rollout leader's). */
  fence?: string;
}

/** What commit() accepts: a pure function of the committed state (see model.Transition). */
export type TransitionFn = (current: RoutingState) => Transition;

export type ChangeListener = (state: RoutingState, event: AuditEvent) => void;

/** Every state this process starts routing by: its own commits and those adopted from a shared store. */
export type AppliedListener = (state: RoutingState, origin: 'local' | 'remote') => void;

export interface StateManagerOptions {
  store: StateStore;
  /** Used only when the store holds no state yet (a first start): persisted state wins. */
  /** Checked by model.initialState (TURNOUT_ERR_CONFIG naming the field). */
  seed: { active: Colour; weight: number; shadowPercent?: number };
  clock?: Clock;
  /** CONTRACT §10: stamped into every event as `service` (absent: events as before services). */
  service?: string;
  /** Where a throwing change listener is reported (default: process.emitWarning). */
  onListenerError?: (err: unknown) => void;
}

export class StateManager {
  readonly #store: StateStore;
  readonly #clock: Clock;
  readonly #service: string | undefined;
  readonly #onListenerError: (err: unknown) => void;
  readonly #listeners = new Set<ChangeListener>();
  readonly #applied = new Set<AppliedListener>();
  #state: RoutingState;
  #snapshot: RoutingSnapshot;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #publisher: ((state: RoutingState) => Promise<unknown>) | undefined;

  private constructor(store: StateStore, state: RoutingState, options: StateManagerOptions) {
    this.#store = store;
    this.#clock = options.clock ?? systemClock;
    this.#service = options.service;
    this.#onListenerError =
      options.onListenerError ?? ((err) => process.emitWarning(`state change listener threw: ${String(err)}`));
    this.#state = model.freezeState(state);
    this.#snapshot = model.snapshotOf(this.#state);
  }

  /**
   * Loads the persisted state, or seeds it from the config and persists it at once (so a
   * read-only or missing data directory fails at startup, not at the first admin call).
   * Throws TURNOUT_ERR_STATE_UNREADABLE for a corrupt or unreadable state file.
   */
  static async open(options: StateManagerOptions): Promise<StateManager> {
    const clock = options.clock ?? systemClock;
    const store = options.store;
    const loaded = await store.load();
    // A state without `shadow` (written before §9, or never set) takes the config's seed.
    const seedShadow = (s: model.RoutingState): model.RoutingState =>
      s.shadow === undefined && (options.seed.shadowPercent ?? 0) > 0 ? { ...s, shadow: { percent: options.seed.shadowPercent! } } : s;
    if (loaded !== null) return new StateManager(store, seedShadow(loaded.state), options);
    const state = model.freezeState(seedShadow(model.initialState(options.seed, new Date(clock.now()).toISOString())));
    if (isVersionedStore(store)) {
      // A shared store: the config seeds it only if no replica did so meanwhile (CONTRACT §6).
      if ((await store.compareAndSave(null, state, [])) !== 'saved') {
        const current = await store.current();
        if (current !== null) return new StateManager(store, current, options);
      }
      return new StateManager(store, state, options);
    }
    await store.save(state, []);
    return new StateManager(store, state, options);
  }

  /** The current routing snapshot: synchronous, frozen, replaced whole on every commit. */
  get snapshot(): RoutingSnapshot {
    return this.#snapshot;
  }

  /** The current committed state (frozen). */
  get state(): RoutingState {
    return this.#state;
  }

  /**
   * Called whenever the snapshot is replaced: after this process's commits (`local`, before the
   * change listeners) and when a newer state committed by another replica is adopted (`remote`).
   */
  onApplied(listener: AppliedListener): () => void {
    this.#applied.add(listener);
    return () => {
      this.#applied.delete(listener);
    };
  }

  /**
   * Adopts a state another replica committed, if it is newer than ours (versions only grow, so
   * the highest wins). Queued like a change, so it never interleaves with one in progress.
   * Change listeners are not called: the audit event, webhooks and reactions belong to the
   * replica that made the change.
   */
  adopt(state: RoutingState): Promise<boolean> {
    const run = this.#queue.then(() => this.#adopt(state));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Re-reads a shared store and adopts what is newer (pub/sub notification, periodic check, reconnect). */
  refresh(): Promise<boolean> {
    const store = this.#store;
    if (!isVersionedStore(store) || this.#closed) return Promise.resolve(false);
    const run = this.#queue.then(async () => {
      const current = await store.current();
      return current === null ? false : this.#adopt(current);
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Called after each durable commit, in commit order. Returns an unsubscribe function. */
  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Delivers each committed state to the data planes (channels/: in-process, workers, fleet) and
   * holds the change's answer until `publish` resolved, i.e. until every data plane routes by it
   * (DESIGN.md "One control plane, many data planes"). Runs inside the commit queue, after the
   * listeners, so data planes see commits in order. `publish` must not reject.
   */
  publishTo(publish: (state: RoutingState) => Promise<unknown>): void {
    this.#publisher = publish;
  }

  setWeight(weight: number, meta: ChangeMeta): Promise<RoutingState> {
    return this.commit((current) => model.setWeight(current, weight), meta);
  }

  flip(meta: ChangeMeta): Promise<RoutingState> {
    return this.commit(model.flip, meta);
  }

  /** CONTRACT §9: the shadow percent, audited as a `shadow` event. */
  setShadow(percent: number, meta: ChangeMeta): Promise<RoutingState> {
    return this.commit((current) => model.setShadow(current, percent), meta);
  }

  rollback(meta: ChangeMeta): Promise<RoutingState> {
    return this.commit(model.rollback, meta);
  }

  /**
   * The one way to change state. The transition runs inside the queue against the latest
   * committed state; if it throws (a TurnoutError such as 409), nothing changes. The manager
   * sets `version` (+1), `updatedAt`, and the event's `at`, `version`, `from` and `to`; the
   * event's `actor`/`reason` default to meta's.
   */
  commit(transition: TransitionFn, meta: ChangeMeta): Promise<RoutingState> {
    // Checked when the change is asked for: changes queued before close() still apply.
    if (this.#closed) return Promise.reject(new TurnoutError('TURNOUT_ERR_CONFLICT', 'the state manager is closed'));
    const run = this.#queue.then(() => this.#apply(transition, meta));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** The newest `limit` audit events, newest first. */
  events(limit: number): Promise<AuditEvent[]> {
    return this.#store.events(limit);
  }

  /** Waits for queued changes, then closes the store. Later changes reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    await this.#store.close();
  }

  async #apply(transition: TransitionFn, meta: ChangeMeta): Promise<RoutingState> {
    const store = this.#store;
    for (let attempt = 1; ; attempt++) {
      const current = this.#state;
      if (meta.ifMatch !== undefined && meta.ifMatch !== current.version) {
        throw new TurnoutError(
          'TURNOUT_ERR_PRECONDITION_FAILED',
          `If-Match "${meta.ifMatch}" does not match the current version "${current.version}"`,
        );
      }
      const { next, event } = this.#stamp(current, transition(current), meta);
      if (!isVersionedStore(store)) {
        await store.save(next, [event]);
        return this.#publish(next, event);
      }
      // A shared store: the write lands only on the version we computed from. Losing means
      // another replica committed first: adopt its state and run the transition again on it
      // (If-Match is then checked against that newer version: 412, as on one process).
      const outcome = await store.compareAndSave(current.version, next, [event], meta.fence);
      if (outcome === 'saved') return this.#publish(next, event);
      if (outcome === 'fenced') throw new TurnoutError('TURNOUT_ERR_CONFLICT', 'this replica no longer holds the rollout lease');
      const stored = await store.current();
      if (stored === null) {
        // The shared store lost its data (Redis restarted empty): the fleet writes back the last
        // applied state within a heartbeat; until then nothing can be compared against.
        throw new TurnoutError('TURNOUT_ERR_STATE_UNAVAILABLE', 'the shared state store holds no state yet (it is being restored); try again');
      }
      this.#adopt(stored);
      if (attempt >= MAX_CAS_ATTEMPTS) {
        throw new TurnoutError('TURNOUT_ERR_CONFLICT', `gave up after ${attempt} concurrent changes by other replicas; try again`);
      }
    }
  }

  #stamp(current: RoutingState, result: Transition, meta: ChangeMeta): { next: RoutingState; event: AuditEvent } {
    const at = new Date(this.#clock.now()).toISOString();
    const version = current.version + 1;
    const actor = result.event.actor ?? meta.actor;
    // settle(): the idle colour's clock and the cancelling of a running verification (CONTRACT §11).
    const next = model.freezeState(model.settle(current, { ...result.state, version, updatedAt: at }, { action: result.event.action, actor, version }, at));
    const event: AuditEvent = deepFreeze({
      at,
      version,
      action: result.event.action,
      from: { active: current.active, weight: current.weight },
      to: { active: next.active, weight: next.weight },
      actor,
      reason: result.event.reason ?? meta.reason ?? '',
      ...(this.#service === undefined ? {} : { service: this.#service }),
    });
    return { next, event };
  }

  async #publish(next: RoutingState, event: AuditEvent): Promise<RoutingState> {
    this.#state = next;
    this.#snapshot = model.snapshotOf(next);
    this.#notifyApplied(next, 'local');
    for (const listener of this.#listeners) {
      try {
        listener(next, event);
      } catch (err) {
        this.#onListenerError(err);
      }
    }
    if (this.#publisher !== undefined) await this.#publisher(next);
    return next;
  }

  #adopt(state: RoutingState): boolean {
    if (state.version <= this.#state.version) return false;
    this.#state = model.freezeState(state);
    this.#snapshot = model.snapshotOf(this.#state);
    this.#notifyApplied(this.#state, 'remote');
    return true;
  }

  #notifyApplied(state: RoutingState, origin: 'local' | 'remote'): void {
    for (const listener of this.#applied) {
      try {
        listener(state, origin);
      } catch (err) {
        this.#onListenerError(err);
      }
    }
  }
}
