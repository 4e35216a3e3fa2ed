// A data plane's shadow report (workers, CONTRACT §7 and §9): each worker mirrors and compares the
// requests it serves, and once a second sends what it counted since the last report up the same
// channel as its telemetry; the control plane adds every worker's reports into the one
// ShadowStats and Noise that GET /api/v1/shadow, /metrics and the rollout gate read. Differences,
// not totals, so a worker that dies or is replaced never takes its counted pairs with it.
import type { Noise } from './noise.ts';
import { MAX_SAMPLES, MISMATCH_KINDS, SHADOW_RESULTS, type ShadowCounts, type ShadowResult, type ShadowStats } from './stats.ts';
import type { MismatchKind } from './compare.ts';

export class ShadowReporter {
  readonly #stats: ShadowStats;
  readonly #noise: Noise;
  #results: Record<ShadowResult, number> = { match: 0, mismatch: 0, error: 0, aborted: 0 };
  #byKind: Record<MismatchKind, number> = { status: 0, headers: 0, body: 0 };
  #dropped = 0;
  #sampled = 0;
  /** Noise as last reported: bounded like Noise itself (its keys, rebuilt on every report). */
  #noiseSeen = new Map<string, number>();

  constructor(stats: ShadowStats, noise: Noise) {
    this.#stats = stats;
    this.#noise = noise;
  }

  /** What changed since the last call; undefined when nothing did (an idle second sends nothing). */
  take(): ShadowCounts | undefined {
    const stats = this.#stats;
    const results = {} as Record<ShadowResult, number>;
    const byKind = {} as Record<MismatchKind, number>;
    let changed = false;
    for (const r of SHADOW_RESULTS) {
      results[r] = stats.results[r] - this.#results[r];
      if (results[r] !== 0) changed = true;
    }
    for (const k of MISMATCH_KINDS) {
      byKind[k] = stats.byKind[k] - this.#byKind[k];
      if (byKind[k] !== 0) changed = true;
    }
    const dropped = stats.dropped - this.#dropped;
    const samples = stats.newest(Math.min(stats.sampled - this.#sampled, MAX_SAMPLES));
    const noise = [];
    const seen = new Map<string, number>();
    for (const entry of this.#noise.list()) {
      seen.set(entry.key, entry.seen);
      const more = entry.seen - (this.#noiseSeen.get(entry.key) ?? 0);
      if (more > 0) noise.push({ key: entry.key, seen: more });
    }
    if (!changed && dropped === 0 && samples.length === 0 && noise.length === 0) return undefined;
    this.#results = { ...stats.results };
    this.#byKind = { ...stats.byKind };
    this.#dropped = stats.dropped;
    this.#sampled = stats.sampled;
    this.#noiseSeen = seen;
    return { results, byKind, dropped, noise, samples };
  }
}
