// Two contenders against one origin, interleaved rounds (A B A B …): the shape shared by
// `bench:quick` (Turnout vs the undici proxy) and `bench:recording` (recording on vs off).
// Ratios are computed per round (B / A), then medianed; CPU per request is the steadier figure
// when other work shares the cores.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Contender } from '../contenders/index.ts';
import { measureOnce, type Live } from '../scenarios/throughput.ts';
import { startOrigin, type OriginHandle } from './origin.ts';
import { stopAll } from './procs.ts';
import { median } from './stats.ts';

export interface PairOptions {
  /** Prefix of the log lines and the temp directory. */
  readonly name: string;
  readonly baseline: Contender;
  readonly candidate: Contender;
  readonly rounds: number;
  readonly seconds: number;
  readonly connections: number;
}

export interface PairResult {
  /** Median of per-round candidate / baseline throughput. */
  readonly ratio: number;
  readonly rps: { readonly baseline: number; readonly candidate: number };
  /** Median proxy CPU µs per request (NaN when not measured). */
  readonly cpuUsPerReq: { readonly baseline: number; readonly candidate: number };
}

export async function comparePair(o: PairOptions): Promise<PairResult> {
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), `turnout-${o.name}-`));
  let origin: OriginHandle | null = null;
  const lives: Live[] = [];
  try {
    origin = await startOrigin(tmpDir);
    for (const contender of [o.baseline, o.candidate]) lives.push({ contender, running: await contender.start(origin, tmpDir) });
    for (const live of lives) await measureOnce(live, o.connections, 2); // warm-up: JIT, pools
    const ratios: number[] = [];
    const rps: [number[], number[]] = [[], []];
    const cpu: [number[], number[]] = [[], []];
    for (let r = 0; r < o.rounds; r++) {
      const round: number[] = [];
      for (const [i, live] of lives.entries()) {
        const s = await measureOnce(live, o.connections, o.seconds);
        round.push(s.rps);
        rps[i as 0 | 1].push(s.rps);
        if (s.cpuUsPerReq !== null) cpu[i as 0 | 1].push(s.cpuUsPerReq);
        if (s.errors + s.non2xx > 0) process.stderr.write(`${o.name}: ${live.contender.id}: ${s.errors} errors, ${s.non2xx} non-2xx\n`);
      }
      ratios.push(round[1]! / round[0]!);
      process.stdout.write(
        `round ${r + 1}/${o.rounds}: ${o.baseline.id} ${Math.round(round[0]!)} req/s, ${o.candidate.id} ${Math.round(round[1]!)} req/s, ratio ${ratios.at(-1)!.toFixed(3)}\n`,
      );
    }
    const med = (xs: number[]) => (xs.length ? median(xs) : NaN);
    return {
      ratio: median(ratios),
      rps: { baseline: med(rps[0]), candidate: med(rps[1]) },
      cpuUsPerReq: { baseline: med(cpu[0]), candidate: med(cpu[1]) },
    };
  } finally {
    // Turnout writes a --cpu-prof file on a clean exit (SIGTERM → drain → exit 0).
    await Promise.allSettled(lives.map((l) => l.running.stop()));
    await origin?.stop();
    await stopAll();
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

/** Runs a bench entry point: its exit code, or 1 with the stack after stopping every child. */
export function runMain(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    async (err: unknown) => {
      process.stderr.write(`${name}: failed: ${(err as Error).stack ?? String(err)}\n`);
      await stopAll();
      process.exit(1);
    },
  );
}
