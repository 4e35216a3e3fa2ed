// Added latency at a fixed offered load (default 2000 req/s): the same paced load against
// every contender, interleaved; p50/p99 minus direct-to-origin's of the same round.
import { runPaced, type LoadResult } from '../lib/load.ts';
import { visitorHeaders } from '../lib/visitors.ts';
import { cpuSeconds, processTree } from '../lib/proc-stats.ts';
import type { Live } from './throughput.ts';

/** `cpuUsPerReq`: CPU µs per request of the contender's process tree during the paced load. */
export type LatencyRound = Record<string, LoadResult & { readonly cpuUsPerReq?: number }>;

export async function latencyRounds(lives: readonly Live[], options: { rounds: number; seconds: number; rate: number; tmpDir: string; log: (line: string) => void }): Promise<LatencyRound[]> {
  const rounds: LatencyRound[] = [];
  for (let r = 0; r < options.rounds; r++) {
    const round: LatencyRound = {};
    for (const live of lives) {
      const headers = visitorHeaders(0);
      // CPU of the contender's whole tree at the same offered load for every contender: unlike at
      // saturation, this does not depend on how much CPU the others on the machine leave it.
      const tree = processTree(live.running.pid);
      const cpuBefore = cpuSeconds(tree);
      const paced = await runPaced(live.running.url, { rate: options.rate, seconds: options.seconds, tmpDir: options.tmpDir, headers });
      const result = { ...paced, cpuUsPerReq: paced.requests > 0 ? ((cpuSeconds(tree) - cpuBefore) * 1e6) / paced.requests : 0 };
      round[live.contender.id] = result;
      options.log(`latency round ${r + 1}/${options.rounds} ${live.contender.id}: ${Math.round(result.rps)} req/s p50 ${result.p50.toFixed(3)} ms p99 ${result.p99.toFixed(3)} ms (${result.tool})`);
    }
    rounds.push(round);
  }
  return rounds;
}
