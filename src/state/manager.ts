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

export interface ChangeMeta {
  /** Who asked: `admin`, an operator's name, `rollout`… */
  actor: string;
  reason?: string;
  /** The version the caller last saw; a different current version → 412 and nothing changes. */
  ifMatch?: number;
}

/** What commit() accepts: a pure function of the committed state (see model.Transition). */
export type TransitionFn = (current: RoutingState) => Transition;

export type ChangeListener = (state: RoutingState, event: AuditEvent) => void;

export interface StateManagerOptions {
  store: StateStore;
  /** Used only when the store holds no state yet (a first start): persisted state wins. */
  /** Checked by model.initialState (TURNOUT_ERR_CONFIG naming the field). */
  seed: { active: Colour; weight: number };
  clock?: Clock;
  /** Where a throwing change listener is reported (default: process.emitWarning). */
  onListenerError?: (err: unknown) => void;
}

export class StateManager {
  readonly #store: StateStore;
  readonly #clock: Clock;
  readonly #onListenerError: (err: unknown) => void;
  readonly #listeners = new Set<ChangeListener>();
  #state: RoutingState;
  #snapshot: RoutingSnapshot;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(store: StateStore, state: RoutingState, options: StateManagerOptions) {
    this.#store = store;
    this.#clock = options.clock ?? systemClock;
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
    const loaded = await options.store.load();
    if (loaded !== null) return new StateManager(options.store, loaded.state, options);
    const state = model.freezeState(model.initialState(options.seed, new Date(clock.now()).toISOString()));
    await options.store.save(state, []);
    return new StateManager(options.store, state, options);
  }

  /** The current routing snapshot: synchronous, frozen, replaced whole on every commit. */
  get snapshot(): RoutingSnapshot {
    return this.#snapshot;
  }

  /** The current committed state (frozen). */
  get state(): RoutingState {
    return this.#state;
  }

  /** Called after each durable commit, in commit order. Returns an unsubscribe function. */
  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  setWeight(weight: number, meta: ChangeMeta): Promise<RoutingState> {
    return this.commit((current) => model.setWeight(current, weight), meta);
  }

  flip(meta: ChangeMeta): Promise<RoutingState> {
    return this.commit(model.flip, meta);
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
    const current = this.#state;
    if (meta.ifMatch !== undefined && meta.ifMatch !== current.version) {
      throw new TurnoutError(
        'TURNOUT_ERR_PRECONDITION_FAILED',
        `If-Match "${meta.ifMatch}" does not match the current version "${current.version}"`,
      );
    }
    const result = transition(current);
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
    });
    await this.#store.save(next, [event]);
    this.#state = next;
    this.#snapshot = model.snapshotOf(next);
    for (const listener of this.#listeners) {
      try {
        listener(next, event);
      } catch (err) {
        this.#onListenerError(err);
      }
    }
    return next;
  }
}
