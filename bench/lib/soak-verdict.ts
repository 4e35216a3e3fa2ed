// The pure parts of the soak: how much RSS grew over a window, and which Node flags Turnout
// ships (read from `npm start`, so the soak measures what users run).

export interface Sample {
  /** Seconds since the load started. */
  readonly t: number;
  readonly rssMB: number;
  readonly heapUsedMB?: number;
  readonly heapTotalMB?: number;
  readonly newSpaceMB?: number;
  readonly externalMB?: number;
  readonly requests?: number;
}

export interface Growth {
  readonly samples: number;
  /** Least-squares slope of RSS over the window, times the window's length. */
  readonly fittedMB: number;
  /** Mean RSS of the window's last minute minus that of its first minute. */
  readonly endMinusStartMB: number;
  readonly minMB: number;
  readonly maxMB: number;
}

export function fitGrowth(samples: readonly Sample[], windowSeconds: number): Growth {
  const n = samples.length;
  if (n < 2) return { samples: n, fittedMB: Number.NaN, endMinusStartMB: Number.NaN, minMB: Number.NaN, maxMB: Number.NaN };
  const mt = samples.reduce((s, x) => s + x.t, 0) / n;
  const mr = samples.reduce((s, x) => s + x.rssMB, 0) / n;
  let num = 0;
  let den = 0;
  for (const x of samples) {
    num += (x.t - mt) * (x.rssMB - mr);
    den += (x.t - mt) ** 2;
  }
  const slope = den === 0 ? 0 : num / den;
  const first = samples[0]!.t;
  const last = samples[n - 1]!.t;
  const mean = (xs: readonly Sample[]) => xs.reduce((s, x) => s + x.rssMB, 0) / Math.max(1, xs.length);
  const head = samples.filter((x) => x.t <= first + 60);
  const tail = samples.filter((x) => x.t >= last - 60);
  const rss = samples.map((x) => x.rssMB);
  return {
    samples: n,
    fittedMB: slope * windowSeconds,
    endMinusStartMB: mean(tail) - mean(head),
    minMB: Math.min(...rss),
    maxMB: Math.max(...rss),
  };
}

/** The Node flags between `node` and the script in package.json's `start` script. */
export function shippedNodeFlags(packageJson: string): string[] {
  const start = (JSON.parse(packageJson) as { scripts?: Record<string, string> }).scripts?.start ?? '';
  const words = start.trim().split(/\s+/);
  if (words[0] !== 'node') return [];
  return words.slice(1).filter((w, i, all) => w.startsWith('--') && all.slice(0, i).every((p) => p.startsWith('--')));
}
