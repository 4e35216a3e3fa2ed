// A per-client cap on requests in flight (like nginx's `limit_conn` keyed by the client
// address), so that one client holding hundreds of slow requests open cannot take every
// upstream connection of a colour (issue 12). The key is the real client address: the peer,
// or behind `proxy.trustedProxies` the nearest untrusted x-forwarded-for entry (headers.ts).
//
// Only clients with a request in flight have an entry, so memory follows concurrent clients;
// the map is an lru-cache bounded by client count, as every map request data can grow. When
// more distinct clients than that are in flight at once, the least recently seen lose their
// count (they may then exceed the cap by what they had in flight): a bounded map over exact
// counting, the trade nginx's limit_conn zone makes when it is full (it refuses instead).
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
  /** Requests refused since start. */
  rejected = 0;

  constructor(max: number, maxClients = DEFAULT_MAX_CLIENTS) {
    this.max = max;
    this.counts = new LRUCache<string, Count>({ max: maxClients });
  }

  /** Counts a request of `client` in; false (and nothing counted) when it is at the cap. */
  tryAcquire(client: string): boolean {
    if (this.max === 0) return true;
    const count = this.counts.get(client);
    if (count === undefined) {
      this.counts.set(client, { n: 1 });
      return true;
    }
    if (count.n >= this.max) {
      this.rejected++;
      return false;
    }
    count.n++;
    return true;
  }

  /** A request of `client` finished (answered, failed or abandoned). */
  release(client: string): void {
    if (this.max === 0) return;
    const count = this.counts.peek(client);
    if (count === undefined) return; // evicted while in flight
    if (--count.n <= 0) this.counts.delete(client);
  }

  /** Requests in flight for `client` (tests, diagnostics). */
  inFlight(client: string): number {
    return this.counts.peek(client)?.n ?? 0;
  }

  /** Clients with a request in flight. */
  get clients(): number {
    return this.counts.size;
  }
}
