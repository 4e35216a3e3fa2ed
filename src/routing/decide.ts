// Which colour serves a request (CONTRACT §3). Pure: the same facts, snapshot and random
// source give the same answer on every replica. No I/O, no clock.
import type { Colour, RandomSource } from '../domain.ts';
import type { RoutingSnapshot } from '../state/model.ts';
import { bucketOf, randomBucket } from './bucket.ts';

/** What the data plane read off a request; extracting it is the proxy's job. */
export interface RequestFacts {
  /** Value of the override header, if override is enabled and the header is present. */
  readonly overrideHeader: string | undefined;
  /** Value of the override cookie, if override is enabled and the cookie is present. */
  readonly overrideCookie: string | undefined;
  /** The sticky key (cookie, header or client address); undefined → a random draw. */
  readonly stickyKey: string | undefined;
}

/** `blue`, `green`, `canary` (the idle colour) or `stable` (the active one); anything else → undefined. */
export function overrideColour(value: string | undefined, snapshot: RoutingSnapshot): Colour | undefined {
  switch (value) {
    case 'blue':
    case 'green':
      return value;
    case 'canary':
      return snapshot.canary;
    case 'stable':
      return snapshot.active;
    default:
      return undefined;
  }
}

/** The colour for a bucket: canary iff bucket < weight × 10 000 — monotonic in the weight. */
export function colourForBucket(bucket: number, snapshot: RoutingSnapshot): Colour {
  return bucket < snapshot.threshold ? snapshot.canary : snapshot.active;
}

export function decide(facts: RequestFacts, snapshot: RoutingSnapshot, random: RandomSource): Colour {
  // The header wins over the cookie; an invalid header value is ignored, as if absent.
  const forced = overrideColour(facts.overrideHeader, snapshot) ?? overrideColour(facts.overrideCookie, snapshot);
  if (forced !== undefined) return forced;
  // Skip hashing and drawing when the answer cannot depend on the bucket.
  if (snapshot.threshold <= 0) return snapshot.active;
  if (snapshot.threshold >= 1_000_000) return snapshot.canary;
  const bucket = facts.stickyKey !== undefined ? bucketOf(facts.stickyKey) : randomBucket(random);
  return colourForBucket(bucket, snapshot);
}
