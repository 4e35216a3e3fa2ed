// Maximum throughput: autocannon at 100 connections, rounds interleaved (A B C A B C …) so a
// slow minute on the shared machine hits every contender alike; proxy CPU and RSS from /proc.
import type { Contender, Running } from '../contenders/index.ts';
import { runAutocannon, type LoadResult } from '../lib/load.ts';
import { Sampler } from '../lib/proc-stats.ts';
import { visitorHeaders } from '../lib/visitors.ts';

export interface ThroughputSample extends LoadResult {
  /** Proxy CPU in cores (1 = one core busy), null for `direct`. */
  readonly cpuCores: number | null;
  /** Proxy CPU microseconds per request: load-generator independent efficiency. */
  readonly cpuUsPerReq: number | null;
  readonly peakRssBytes: number | null;
}

export type Round = Record<string, ThroughputSample>;

export interface Live {
  readonly contender: Contender;
  readonly running: Running;
}

export async function measureOnce(live: Live, connections: number, seconds: number): Promise<ThroughputSample> {
  const sampler = live.contender.isProxy ? new Sampler(live.running.pid) : null;
  const load = await runAutocannon(live.running.url, { connections, seconds, headersFor: visitorHeaders });
  const usage = sampler?.stop();
  return {
    ...load,
    cpuCores: usage ? usage.cpuSeconds / usage.wallSeconds : null,
    cpuUsPerReq: usage && load.requests > 0 ? (usage.cpuSeconds * 1e6) / load.requests : null,
    peakRssBytes: usage ? usage.sampledPeakRss : null,
  };
}

export async function throughputRounds(lives: readonly Live[], options: { rounds: number; seconds: number; connections: number; warmupSeconds: number; log: (line: string) => void }): Promise<Round[]> {
  if (options.warmupSeconds > 0) {
    for (const live of lives) await runAutocannon(live.running.url, { connections: options.connections, seconds: options.warmupSeconds, headersFor: visitorHeaders });
  }
  const rounds: Round[] = [];
  for (let r = 0; r < options.rounds; r++) {
    const round: Round = {};
    for (const live of lives) {
      const sample = await measureOnce(live, options.connections, options.seconds);
      round[live.contender.id] = sample;
      options.log(`throughput round ${r + 1}/${options.rounds} ${live.contender.id}: ${Math.round(sample.rps)} req/s${sample.errors + sample.non2xx > 0 ? ` (${sample.errors} errors, ${sample.non2xx} non-2xx)` : ''}`);
    }
    rounds.push(round);
  }
  return rounds;
}
