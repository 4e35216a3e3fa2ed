// A log-bucketed latency histogram (the HdrHistogram / DDSketch idea): bucket i covers
// [MIN_MS × RATIO^(i-1), MIN_MS × RATIO^i), so any quantile it reports is within √RATIO − 1
// (about 1%) of the exact sample it stands for. Fixed Uint32Array, no allocation per record, no
// sorting; merging is adding arrays. `lo`/`hi` track the used range so that resetting and
// merging the sparse per-second slots of a window touch only the buckets in use.

/** Lower edge of the first log bucket; anything faster lands in bucket 0 (reported as its exact min). */
export const MIN_MS = 0.01;
/** Upper end of the range (10 minutes); anything slower lands in the last bucket. */
export const MAX_MS = 600_000;
/** Growth factor between bucket edges: reported quantiles are within √1.02 − 1 ≈ 0.995% of exact. */
export const RATIO = 1.02;

const LOG_RATIO = Math.log(RATIO);
/** Bucket 0 is the underflow [0, MIN_MS); 1..LOG_BUCKETS are log buckets (the last also takes overflow). */
const LOG_BUCKETS = Math.ceil(Math.log(MAX_MS / MIN_MS) / LOG_RATIO);
export const BUCKET_COUNT = LOG_BUCKETS + 1;

/** The bucket a latency falls in. NaN and negatives count as 0. */
export function bucketOf(ms: number): number {
  if (!(ms >= MIN_MS)) return 0;
  const i = Math.floor(Math.log(ms / MIN_MS) / LOG_RATIO) + 1;
  return i > LOG_BUCKETS ? LOG_BUCKETS : i;
}

/** The value reported for a bucket: the geometric middle of its edges (minimises relative error). */
function representative(bucket: number): number {
  if (bucket === 0) return MIN_MS / 2;
  return MIN_MS * Math.pow(RATIO, bucket - 0.5);
}

export class LatencyHistogram {
  readonly counts = new Uint32Array(BUCKET_COUNT);
  count = 0;
  /** Exact extremes: a quantile is clamped to them, so p100 and single samples are exact. */
  min = Infinity;
  max = -Infinity;
  /** Used bucket range; lo > hi when empty. */
  lo = BUCKET_COUNT;
  hi = -1;

  record(ms: number): void {
    const value = ms > 0 ? ms : 0;
    const b = bucketOf(value);
    this.counts[b]!++;
    this.count++;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (b < this.lo) this.lo = b;
    if (b > this.hi) this.hi = b;
  }

  /** Adds `other`'s samples to this one. */
  merge(other: LatencyHistogram): void {
    if (other.count === 0) return;
    const src = other.counts;
    const dst = this.counts;
    for (let i = other.lo; i <= other.hi; i++) dst[i]! += src[i]!;
    this.count += other.count;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    if (other.lo < this.lo) this.lo = other.lo;
    if (other.hi > this.hi) this.hi = other.hi;
  }

  reset(): void {
    if (this.count !== 0) this.counts.fill(0, this.lo, this.hi + 1);
    this.count = 0;
    this.min = Infinity;
    this.max = -Infinity;
    this.lo = BUCKET_COUNT;
    this.hi = -1;
  }

  /**
   * The q-quantile (0..1) by nearest rank: the smallest sample with at least ⌈q·n⌉ samples at or
   * below it, within ~1% relative error. Null when empty.
   */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    if (q <= 0) return this.min;
    if (q >= 1) return this.max;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    const counts = this.counts;
    for (let i = this.lo; i <= this.hi; i++) {
      seen += counts[i]!;
      if (seen >= rank) {
        const v = i === 0 ? this.min : representative(i);
        return v < this.min ? this.min : v > this.max ? this.max : v;
      }
    }
    return this.max;
  }
}
