// The shadow comparison's counters and samples (CONTRACT §9): what GET /api/v1/shadow, /metrics,
// the dashboard and the rollout gate read. Samples are the newest mismatching pairs, a ring.
import type { Difference, MismatchKind } from './compare.ts';
import type { NoiseEntry } from './noise.ts';

export const MISMATCH_KINDS: readonly MismatchKind[] = Object.freeze(['status', 'headers', 'body'] as const);

/**
 * What one data plane counted since its last report (report.ts), as plain JSON: workers send it
 * up the channel once a second, the control plane adds it (ShadowStats.absorb, Noise.add).
 */
export interface ShadowCounts {
  readonly results: Readonly<Record<ShadowResult, number>>;
  readonly byKind: Readonly<Record<MismatchKind, number>>;
  readonly dropped: number;
  /** Noise keys seen since the last report, with how many more times. */
  readonly noise: readonly NoiseEntry[];
  /** Samples taken since the last report, oldest first, at most MAX_SAMPLES. */
  readonly samples: readonly ShadowSample[];
}

/** A pair's fate: compared (match or mismatch), the shadow failed, or the live side was not complete. */
export type ShadowResult = 'match' | 'mismatch' | 'error' | 'aborted';
export const SHADOW_RESULTS: readonly ShadowResult[] = Object.freeze(['match', 'mismatch', 'error', 'aborted'] as const);

export interface ShadowSample {
  readonly at: string;
  readonly method: string;
  readonly path: string;
  readonly kinds: readonly MismatchKind[];
  /** The first differing path (JSON path, `header:<name>`, `status` or `body`). */
  readonly first: string;
  readonly differences: readonly Difference[];
}

export interface ShadowView {
  readonly percent: number;
  readonly compared: number;
  readonly mismatches: number;
  readonly mismatchRate: number;
  readonly byKind: Readonly<Record<MismatchKind, number>>;
  readonly noise: readonly NoiseEntry[];
  readonly samples: readonly ShadowSample[];
  /** Beyond the contract: every result and the drops, as /metrics counts them. */
  readonly results: Readonly<Record<ShadowResult, number>>;
  readonly dropped: number;
}

export const MAX_SAMPLES = 20;

export class ShadowStats {
  readonly results: Record<ShadowResult, number> = { match: 0, mismatch: 0, error: 0, aborted: 0 };
  readonly byKind: Record<MismatchKind, number> = { status: 0, headers: 0, body: 0 };
  dropped = 0;
  /** Samples ever taken (the ring keeps the newest MAX_SAMPLES): report.ts sends the new ones. */
  sampled = 0;
  /** Newest last; at most MAX_SAMPLES. */
  private readonly ring: ShadowSample[] = [];

  get compared(): number {
    return this.results.match + this.results.mismatch;
  }

  count(result: ShadowResult): void {
    this.results[result]++;
  }

  mismatch(sample: ShadowSample): void {
    this.results.mismatch++;
    for (const kind of sample.kinds) this.byKind[kind]++;
    this.sample(sample);
  }

  private sample(sample: ShadowSample): void {
    this.sampled++;
    this.ring.push(sample);
    if (this.ring.length > MAX_SAMPLES) this.ring.shift();
  }

  /** The newest `n` samples (at most MAX_SAMPLES), oldest first. */
  newest(n: number): ShadowSample[] {
    return n <= 0 ? [] : this.ring.slice(-n);
  }

  /** Adds what a data plane counted since its last report (workers: the control plane's merged view). */
  absorb(counts: ShadowCounts): void {
    for (const r of SHADOW_RESULTS) this.results[r] += counts.results[r] ?? 0;
    for (const k of MISMATCH_KINDS) this.byKind[k] += counts.byKind[k] ?? 0;
    this.dropped += counts.dropped;
    for (const sample of counts.samples.slice(-MAX_SAMPLES)) this.sample(sample);
  }

  view(percent: number, noise: readonly NoiseEntry[]): ShadowView {
    const compared = this.compared;
    return {
      percent,
      compared,
      mismatches: this.results.mismatch,
      mismatchRate: compared === 0 ? 0 : this.results.mismatch / compared,
      byKind: { ...this.byKind },
      noise,
      samples: [...this.ring].reverse(),
      results: { ...this.results },
      dropped: this.dropped,
    };
  }
}
