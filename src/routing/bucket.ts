// The sticky bucket of a key (CONTRACT §3): FNV-1a, 32-bit, over the key's UTF-8 bytes,
// then mod 1 000 000. Fixed and documented so every replica, after every restart, puts the
// same key in the same bucket. Any client can reproduce it:
//
//   h = 0x811c9dc5; for each UTF-8 byte b: h = ((h ^ b) * 0x01000193) mod 2^32
//   bucket = h mod 1 000 000
//
// FNV-1a is not cryptographic: a client who can pick its own key can pick its own bucket, but
// it can pick its own colour with the override anyway. What matters here is an even spread.
import { BUCKETS } from '../domain.ts';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export function fnv1a32(key: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < key.length; i++) {
    let c = key.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, FNV_PRIME);
      continue;
    }
    // Non-ASCII: hash the UTF-8 encoding, so the definition does not depend on JS strings.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < key.length) {
      const d = key.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate encodes as U+FFFD
    if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
    } else if (c < 0x10000) {
      h = Math.imul(h ^ (0xe0 | (c >> 12)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
    } else {
      h = Math.imul(h ^ (0xf0 | (c >> 18)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
    }
  }
  return h >>> 0;
}

/** The key's bucket in [0, 1 000 000). */
export function bucketOf(key: string): number {
  return fnv1a32(key) % BUCKETS;
}

/** A bucket drawn at random, for requests without a sticky key. */
export function randomBucket(random: () => number): number {
  return Math.floor(random() * BUCKETS) % BUCKETS;
}
