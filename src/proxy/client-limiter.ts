// A per-client cap on requests in flight (like nginx's `limit_conn` keyed by the client
// address), so that one client holding hundreds of slow requests open cannot take every
// upstream connection of a colour (issue 12). The key is the real client address: the peer,
// or behind `proxy.trustedProxies` the nearest untrusted x-forwarded-for entry (headers.ts).
//
// Counts live in an lru-cache bounded by client count, as every map request data can grow.
// A client's entry stays (at 0) after its requests finish, so a keep-alive client costs one
// lookup and an increment per request, not a set and a delete: lru-cache's delete of its last
// entry clears the whole cache (an O(max) fill, about 1 ms at 65,536), which a single client
// with one request at a time would hit on every request. When more distinct clients than the
// bound are seen, the least recently seen is evicted; if it still had requests in flight it
// may then exceed the cap by what it had: a bounded map over exact counting, the trade nginx's
// limit_conn zone makes when it is full (it refuses instead).
import { LRUCache } from 'lru-cache';

/** Distinct clients with a request in flight that are tracked exactly. */
export const DEFAULT_MAX_CLIENTS = 65_536;

interface Count {
  n: number;
}

export class ClientLimiter {
  /** Requests in flight allowed per client; 0 = no cap. */
  readonly max: number;
  private readonly counts: LRUCache<string, Count>;
  /** Clients with at least one request in flight. */
  private active = 0;
  /** Requests refused since start. */
  rejected = 0;

  constructor(max: number, maxClients = DEFAULT_MAX_CLIENTS) {
    this.max = max;
    this.counts = new LRUCache<string, Count>({
      max: maxClients,
      // An evicted client that still had requests in flight is no longer counted as active.
      dispose: (count) => {
        if (count.n > 0) this.active--;
      },
    });
  }

  /** Counts a request of `client` in; false (and nothing counted) when it is at the cap. */
  tryAcquire(client: string): boolean {
    if (this.max === 0) return true;
    const count = this.counts.get(client);
    if (count === undefined) {
      this.counts.set(client, { n: 1 });
      this.active++;
      return true;
    }
    if (count.n >= this.max) {
      this.rejected++;
      return false;
    }
    if (count.n++ === 0) this.active++;
    return true;
  }

  /** A request of `client` finished (answered, failed or abandoned). */
  release(client: string): void {
    if (this.max === 0) return;
    const count = this.counts.peek(client);
    if (count === undefined || count.n === 0) return; // evicted while in flight
    if (--count.n === 0) this.active--;
  }

  /** Requests in flight for `client` (tests, diagnostics). */
  inFlight(client: string): number {
    return this.counts.peek(client)?.n ?? 0;
  }

  /** Clients with a request in flight. */
  get clients(): number {
    return this.active;
  }

  /** Clients tracked (in flight or recently seen), at most maxClients. */
  get tracked(): number {
    return this.counts.size;
  }
}
