// Noise learning, Twitter Diffy's idea (CONTRACT §9): what differs between two copies of the
// same version (a timestamp, a request id, a host name) is not the candidate's fault. Keys are
// difference keys (compare.ts): `header:<name>`, a JSON path with [*] indices, `body`, `status`.
// Bounded (lru-cache): response data decides the keys.
import { LRUCache } from 'lru-cache';

export interface NoiseEntry {
  readonly key: string;
  /** How many times two copies of the active colour differed here. */
  readonly seen: number;
}

export class Noise {
  private readonly keys: LRUCache<string, { seen: number }>;
  constructor(max = 500) {
    this.keys = new LRUCache({ max });
  }
  learn(keys: Iterable<string>): void {
    for (const key of keys) {
      const entry = this.keys.get(key);
      if (entry) entry.seen++;
      else this.keys.set(key, { seen: 1 });
    }
  }
  /** Seen `seen` more times elsewhere (a worker's report, merged by the control plane). */
  add(key: string, seen: number): void {
    const entry = this.keys.get(key);
    if (entry) entry.seen += seen;
    else this.keys.set(key, { seen });
  }
  has(key: string): boolean {
    return this.keys.has(key);
  }
  list(): NoiseEntry[] {
    return [...this.keys.entries()].map(([key, v]) => ({ key, seen: v.seen })).sort((a, b) => a.key.localeCompare(b.key));
  }
}
