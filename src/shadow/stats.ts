// The shadow comparison's counters and samples (CONTRACT §9): what GET /api/v1/shadow, /metrics,
// the dashboard and the rollout gate read. Samples are the newest mismatching pairs, a ring.
import type { Difference, MismatchKind } from './compare.ts';
import type { NoiseEntry } from './noise.ts';

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
    this.ring.push(sample);
    if (this.ring.length > MAX_SAMPLES) this.ring.shift();
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
