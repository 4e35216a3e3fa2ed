// A StateStore in process memory: for tests, the demo and `state.store: memory`. Nothing survives
// the process, but a MemoryStorage shared by two stores behaves like a file reopened after a
// restart, so the conformance suite can test reopening.
import type { AuditEvent, RoutingState } from './model.ts';
import { deepFreeze } from '../domain.ts';
import type { StateStore, StoredState } from './store.ts';
import { appendBounded, DEFAULT_MAX_EVENTS, newestFirst } from './store.ts';

export interface MemoryStorage {
  state: RoutingState | null;
  events: readonly AuditEvent[];
  /** Events rotated out of the bound (kept so tests can see them; bounded by the caller's use). */
  rotated: AuditEvent[];
}

export function createMemoryStorage(): MemoryStorage {
  return { state: null, events: [], rotated: [] };
}

export class MemoryStore implements StateStore {
  readonly storage: MemoryStorage;
  readonly #maxEvents: number;
  #closed = false;

  constructor(options: { storage?: MemoryStorage; maxEvents?: number } = {}) {
    this.storage = options.storage ?? createMemoryStorage();
    this.#maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
  }

  async load(): Promise<StoredState | null> {
    const { state, events } = this.storage;
    return state === null ? null : { state, events: [...events] };
  }

  async save(state: RoutingState, newEvents: readonly AuditEvent[]): Promise<void> {
    if (this.#closed) throw new Error('memory store is closed');
    // Copies, so a caller mutating what it passed cannot change what was "persisted".
    const copy = <T>(v: T): T => deepFreeze(JSON.parse(JSON.stringify(v)) as T);
    const { kept, rotated } = appendBounded(this.storage.events, copy(newEvents), this.#maxEvents);
    this.storage.state = copy(state);
    this.storage.events = kept;
    // Rotated events are dropped from memory except the most recent bound's worth.
    this.storage.rotated = [...this.storage.rotated, ...rotated].slice(-this.#maxEvents);
  }

  async events(limit: number): Promise<AuditEvent[]> {
    return newestFirst(this.storage.events, limit);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
