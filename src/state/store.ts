// Where the dynamic state and its audit events live. StateManager is the only writer; a store
// only has to make each save() durable and atomic (state and its new events together).
// One conformance suite (test/state/store-conformance.ts) runs against every implementation.
import type { AuditEvent, RoutingState } from './model.ts';

/** Events kept in the store itself; older ones are rotated out (the file store appends them to its audit log). */
export const DEFAULT_MAX_EVENTS = 10_000;

export interface StoredState {
  readonly state: RoutingState;
  /** Oldest first, at most the store's bound. */
  readonly events: readonly AuditEvent[];
}

export interface StateStore {
  /** The persisted state, or null on a first start. Throws TURNOUT_ERR_STATE_UNREADABLE when it exists but cannot be read. */
  load(): Promise<StoredState | null>;
  /** Replaces the state and appends `newEvents`, atomically and durably, before resolving. */
  save(state: RoutingState, newEvents: readonly AuditEvent[]): Promise<void>;
  /** The newest `limit` events, newest first. */
  events(limit: number): Promise<AuditEvent[]>;
  /** Flushes and releases the store; further saves reject. */
  close(): Promise<void>;
}

/** Appends and trims to the bound; returns the kept events and those rotated out (oldest first). */
export function appendBounded(
  events: readonly AuditEvent[],
  newEvents: readonly AuditEvent[],
  maxEvents: number,
): { kept: AuditEvent[]; rotated: AuditEvent[] } {
  const all = [...events, ...newEvents];
  const cut = Math.max(0, all.length - maxEvents);
  return { kept: all.slice(cut), rotated: all.slice(0, cut) };
}

/** Newest first, at most `limit` (a non-positive or non-integer limit yields nothing). */
export function newestFirst(events: readonly AuditEvent[], limit: number): AuditEvent[] {
  if (!Number.isInteger(limit) || limit <= 0) return [];
  return events.slice(-limit).reverse();
}

/**
 * A store shared by several processes (Redis): every change is a compare-and-set on `version`,
 * so a StateManager that did not see another replica's commit cannot overwrite it (it re-reads
 * and retries, or answers 412 for a stale If-Match). Memory and file stores have one writer.
 */
export interface VersionedStore extends StateStore {
  /**
   * Saves only if the stored version is `expected` (null: only if nothing is stored yet) and,
   * with a fence, only while that lease is still held. Resolves with the outcome; throws
   * TURNOUT_ERR_STATE_UNAVAILABLE when the store cannot be reached (then nothing is known to change).
   */
  compareAndSave(
    expected: number | null,
    state: RoutingState,
    newEvents: readonly AuditEvent[],
    fence?: string,
  ): Promise<'saved' | 'conflict' | 'fenced'>;
  /** The stored state alone (no events), or null. */
  current(): Promise<RoutingState | null>;
}

export function isVersionedStore(store: StateStore): store is VersionedStore {
  return typeof (store as Partial<VersionedStore>).compareAndSave === 'function';
}
