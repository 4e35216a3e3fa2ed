// `npm run bench:recording`: what per-request recording (sliding windows, Prometheus aggregates)
// costs — Turnout with recording against Turnout without, same split config, same origin,
// interleaved rounds. The issue-4 target: throughput with recording within 5% of without.
// Options: --rounds N (5), --seconds S (5), --connections C (100), --no-build.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Contender } from './contenders/index.ts';
import { buildIfStale } from './contenders/turnout.ts';
import { startOrigin, type OriginHandle } from './lib/origin.ts';
import { BENCH_DIR, NODE, startProcess, stopAll, waitForLine } from './lib/procs.ts';
import { median } from './lib/stats.ts';
import { measureOnce, type Live } from './scenarios/throughput.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '100' },
    'no-build': { type: 'boolean', default: false },
  },
});

function turnoutApp(id: string, record: boolean): Contender {
  return {
    id,
    label: `Turnout split, recording ${record ? 'on' : 'off'}`,
    isProxy: true,
    unavailable: () => null,
    async start(origin, tmpDir) {
      const proc = startProcess({
        name: id,
        command: NODE,
        args: [path.join(BENCH_DIR, 'contenders', 'turnout-app.ts'), origin.blue, origin.green, ...(record ? [] : ['--no-record'])],
        logFile: path.join(tmpDir, `${id}.log`),
      });
      const port = await waitForLine(proc, /LISTENING (\d+)/);
      return {
        url: `http://127.0.0.1:${port}`,
        pid: proc.pid,
        connectionHeaders: (i: number) => ({ cookie: `turnout_id=bench-${i}` }),
        stop: () => proc.stop(),
      };
    },
  };
}

async function main(): Promise<number> {
  if (!args['no-build']) buildIfStale((line) => process.stderr.write(`recording: ${line}\n`));
  const rounds = Number(args.rounds);
  const seconds = Number(args.seconds);
  const connections = Number(args.connections);
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'turnout-recording-'));
  let origin: OriginHandle | null = null;
  const lives: Live[] = [];
  try {
    origin = await startOrigin(tmpDir);
    for (const contender of [turnoutApp('recording-on', true), turnoutApp('recording-off', false)]) lives.push({ contender, running: await contender.start(origin, tmpDir) });
    for (const live of lives) await measureOnce(live, connections, 2); // warm-up
    const ratios: number[] = [];
    const cpu: Record<string, number[]> = { 'recording-on': [], 'recording-off': [] };
    for (let r = 0; r < rounds; r++) {
      const rps: Record<string, number> = {};
      for (const live of lives) {
        const s = await measureOnce(live, connections, seconds);
        rps[live.contender.id] = s.rps;
        if (s.cpuUsPerReq !== null) cpu[live.contender.id]!.push(s.cpuUsPerReq);
      }
      ratios.push(rps['recording-on']! / rps['recording-off']!);
      process.stdout.write(`round ${r + 1}/${rounds}: on ${Math.round(rps['recording-on']!)} req/s, off ${Math.round(rps['recording-off']!)} req/s, ratio ${ratios.at(-1)!.toFixed(3)}\n`);
    }
    const ratio = median(ratios);
    process.stdout.write(
      `\nCPU µs/req: on ${median(cpu['recording-on']!).toFixed(1)}, off ${median(cpu['recording-off']!).toFixed(1)}\n` +
        `throughput with recording / without: ${ratio.toFixed(3)} (median of per-round ratios) — ${ratio >= 0.95 ? 'MET' : 'MISSED'} (target ≥ 0.95)\n`,
    );
    return 0;
  } finally {
    await Promise.allSettled(lives.map((l) => l.running.stop()));
    await origin?.stop();
    await stopAll();
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    process.stderr.write(`recording: failed: ${(err as Error).stack ?? String(err)}\n`);
    await stopAll();
    process.exit(1);
  },
);
