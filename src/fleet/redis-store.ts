// A StateStore in Redis, shared by every replica of a fleet (CONTRACT §6). The state is one hash
// { version, json }; the audit log is a stream trimmed to `maxEvents` (XADD MAXLEN); each commit
// is published on a channel so other replicas apply it within milliseconds.
//
// Every write is one Lua script, so the check of `version`, the state, the events and the
// notification happen atomically on the server (Redis runs a script without interleaving other
// commands): two replicas that both read version 7 cannot both write version 8. A fenced write
// (the rollout controller's) also checks that the caller still holds the leader lease, so a
// leader that lost its lease cannot commit (the fencing-token pattern; here the version CAS plus
// the lease check in the same script).
import { TurnoutError } from '../errors.ts';
import type { AuditEvent, RoutingState } from '../state/model.ts';
import { deepFreeze } from '../domain.ts';
import type { StoredState, VersionedStore } from '../state/store.ts';
import { DEFAULT_MAX_EVENTS } from '../state/store.ts';
import { RedisConnection } from './connection.ts';
import { fleetKeys, type FleetKeys } from './keys.ts';

/**
 * KEYS: state, events, leader. ARGV: expected version (`*` any, `` none), new version, state
 * JSON, maxlen, commits channel, fence (`` none), events JSON…
 * Returns { outcome, stored version } with outcome 1 saved, 0 version conflict, -1 fenced.
 */
const CAS = `
local cur = redis.call('HGET', KEYS[1], 'version')
local exp = ARGV[1]
if exp == '' then
  if cur then return {0, cur} end
elseif exp ~= '*' then
  if cur ~= exp then return {0, cur or ''} end
end
if ARGV[6] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[6] then return {-1, cur or ''} end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'json', ARGV[3])
for i = 7, #ARGV do
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[4], '*', 'e', ARGV[i])
end
redis.call('PUBLISH', ARGV[5], ARGV[2])
return {1, ARGV[2]}
`;

/**
 * Write-back after Redis lost its data (restarted without persistence): stores the state only if
 * there is none or an older one, so among replicas writing back the highest version wins and
 * the config seed never does. KEYS: state. ARGV: version, JSON, channel. Returns 1 if written.
 */
const RESTORE = `
local cur = redis.call('HGET', KEYS[1], 'version')
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'json', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[1])
return 1
`;

export interface RedisStoreOptions {
  /** An open connection shared with the rest of the fleet (not closed by close()), or a URL to own one. */
  readonly connection?: RedisConnection;
  readonly url?: string;
  /** `state.key`: every key starts with it (default `turnout`). */
  readonly prefix?: string;
  readonly service?: string;
  /** Events kept in the stream (default 10 000). */
  readonly maxEvents?: number;
  /** Stamped into every event this store writes (CONTRACT §6: each event names its replica). */
  readonly replica?: string;
}

type Reply = [number, string];

export class RedisStore implements VersionedStore {
  readonly keys: FleetKeys;
  readonly connection: RedisConnection;
  readonly #owns: boolean;
  readonly #maxEvents: number;
  readonly #replica: string | undefined;
  #connected: Promise<void> | null = null;
  #closed = false;
  /**
   * The newest events last read or written (newest first, at most one answer's worth): what
   * GET /api/v1/events answers while Redis cannot be reached (reads answer from the last
   * applied state, CONTRACT §6). Bounded by the largest limit asked for (≤ 10 000).
   */
  #recent: AuditEvent[] = [];

  constructor(options: RedisStoreOptions) {
    if (options.connection === undefined && options.url === undefined) throw new Error('RedisStore needs a connection or a url');
    this.connection = options.connection ?? new RedisConnection({ url: options.url! });
    this.#owns = options.connection === undefined;
    this.keys = fleetKeys(options.prefix ?? 'turnout', options.service);
    this.#maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
    this.#replica = options.replica;
    if (!this.#owns) this.#connected = Promise.resolve();
  }

  async load(): Promise<StoredState | null> {
    await this.#ready();
    const state = await this.current();
    if (state === null) return null;
    const entries = await this.connection.run<[string, string[]][]>(['XRANGE', this.keys.events, '-', '+']);
    return { state, events: entries.map((e) => this.#parseEvent(e)) };
  }

  async current(): Promise<RoutingState | null> {
    await this.#ready();
    const [version, json] = await this.connection.run<(string | null)[]>(['HMGET', this.keys.state, 'version', 'json']);
    if (version == null || json == null) return null;
    try {
      const state = JSON.parse(json) as RoutingState;
      if (typeof state !== 'object' || state === null || state.version !== Number(version)) throw new Error(`version field ${version} does not match the state`);
      return deepFreeze(state);
    } catch (err) {
      throw new TurnoutError('TURNOUT_ERR_STATE_UNREADABLE', `Redis key ${this.keys.state}: ${(err as Error).message}`, { cause: err });
    }
  }

  async save(state: RoutingState, newEvents: readonly AuditEvent[]): Promise<void> {
    await this.#cas('*', state, newEvents, '');
  }

  async compareAndSave(expected: number | null, state: RoutingState, newEvents: readonly AuditEvent[], fence?: string): Promise<'saved' | 'conflict' | 'fenced'> {
    const [outcome] = await this.#cas(expected === null ? '' : String(expected), state, newEvents, fence ?? '');
    return outcome === 1 ? 'saved' : outcome === -1 ? 'fenced' : 'conflict';
  }

  /** Writes `state` back if Redis holds none or an older one (see RESTORE). */
  async restore(state: RoutingState): Promise<boolean> {
    await this.#ready();
    const n = await this.connection.run<number>(['EVAL', RESTORE, '1', this.keys.state, String(state.version), JSON.stringify(state), this.keys.commits]);
    return n === 1;
  }

  async events(limit: number): Promise<AuditEvent[]> {
    if (!Number.isInteger(limit) || limit <= 0) return [];
    await this.#ready();
    let entries: [string, string[]][];
    try {
      entries = await this.connection.run<[string, string[]][]>(['XREVRANGE', this.keys.events, '+', '-', 'COUNT', String(limit)]);
    } catch (err) {
      if (err instanceof TurnoutError && err.code === 'TURNOUT_ERR_STATE_UNAVAILABLE' && this.#recent.length > 0) return this.#recent.slice(0, limit);
      throw err;
    }
    const events = entries.map((e) => this.#parseEvent(e));
    if (events.length >= this.#recent.length || limit >= this.#recent.length) this.#recent = events;
    return events;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#owns) {
      await this.#connected?.catch(() => {});
      await this.connection.close();
    }
  }

  async #cas(expected: string, state: RoutingState, newEvents: readonly AuditEvent[], fence: string): Promise<Reply> {
    if (this.#closed) throw new TurnoutError('TURNOUT_ERR_STATE_UNAVAILABLE', 'the Redis store is closed');
    await this.#ready();
    const stamped = newEvents.map((e) => (this.#replica === undefined ? e : { ...e, replica: this.#replica }));
    const events = stamped.map((e) => JSON.stringify(e));
    const reply = await this.connection.run<[number, string]>([
      'EVAL', CAS, '3', this.keys.state, this.keys.events, this.keys.leader,
      expected, String(state.version), JSON.stringify(state), String(this.#maxEvents), this.keys.commits, fence, ...events,
    ]);
    if (Number(reply[0]) === 1 && this.#recent.length > 0) {
      this.#recent = [...stamped.map((e) => deepFreeze(JSON.parse(JSON.stringify(e)) as AuditEvent)).reverse(), ...this.#recent].slice(0, Math.max(this.#recent.length, 1));
    }
    return [Number(reply[0]), String(reply[1])];
  }

  #ready(): Promise<void> {
    this.#connected ??= this.connection.connect();
    return this.#connected;
  }

  #parseEvent(entry: [string, string[]]): AuditEvent {
    const fields = entry[1];
    const i = fields.indexOf('e');
    try {
      return deepFreeze(JSON.parse(fields[i + 1] ?? '') as AuditEvent);
    } catch (err) {
      throw new TurnoutError('TURNOUT_ERR_STATE_UNREADABLE', `Redis stream ${this.keys.events}: entry ${entry[0]} is not an event`, { cause: err });
    }
  }
}
