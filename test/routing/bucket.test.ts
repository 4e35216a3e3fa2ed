import t from 'tap';
import { bucketOf, fnv1a32, randomBucket } from '../../src/routing/bucket.ts';

// Reference: FNV-1a over the UTF-8 bytes, straight from the definition.
function reference(key: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(key, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h >>> 0;
}

t.test('FNV-1a 32 published test vectors', async (t) => {
  const vectors: [string, number][] = [
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['foobar', 0xbf9cf968],
  ];
  for (const [key, hash] of vectors) t.equal(fnv1a32(key), hash, JSON.stringify(key));
});

t.test('hashes the UTF-8 encoding, also beyond ASCII', async (t) => {
  const keys = ['user-42', 'é', 'ünïcödé', '日本語', '😀 emoji', 'a\u{10FFFF}z', 'lone \ud800 surrogate', 'x'.repeat(300)];
  for (const key of keys) t.equal(fnv1a32(key), reference(key), JSON.stringify(key));
});

t.test('bucket is the hash mod 1 000 000 and stable', async (t) => {
  t.equal(bucketOf('foobar'), 0xbf9cf968 % 1_000_000);
  t.equal(bucketOf('user-1'), bucketOf('user-1'));
});

t.test('random buckets stay in range, even at the edge of the source', async (t) => {
  t.equal(randomBucket(() => 0), 0);
  t.equal(randomBucket(() => 0.9999999999999999), 999_999);
  t.equal(randomBucket(() => 0.5), 500_000);
});
