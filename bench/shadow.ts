// `node bench/shadow.ts`: what shadow comparison costs the client (issue 17, item 6) — Turnout
// with shadow percent 0 (off: one branch per request) against percent 100 (every GET mirrored to
// green and compared), same origin, interleaved rounds; throughput and client p99 per round.
// Options: --rounds N (3), --seconds S (5), --connections C (50), --no-build.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Contender } from './contenders/index.ts';
import { buildIfStale } from './contenders/turnout.ts';
import { BENCH_DIR, NODE, startProcess, stopAll, waitForLine } from './lib/procs.ts';
import { startOrigin, type OriginHandle } from './lib/origin.ts';
import { measureOnce, type Live } from './scenarios/throughput.ts';
import { median } from './lib/stats.ts';
import { runMain } from './lib/pair.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    'no-build': { type: 'boolean', default: false },
  },
});

function shadowApp(percent: number): Contender {
  const id = `shadow-${percent}`;
  return {
    id,
    label: `Turnout, shadow ${percent}%`,
    isProxy: true,
    unavailable: () => null,
    async start(origin, tmpDir) {
      const proc = startProcess({
        name: id,
        command: NODE,
        args: [path.join(BENCH_DIR, 'contenders', 'turnout-shadow-app.ts'), origin.blue, origin.green, String(percent)],
        logFile: path.join(tmpDir, `${id}.log`),
      });
      const port = await waitForLine(proc, /LISTENING (\d+)/);
      return { url: `http://127.0.0.1:${port}`, pid: proc.pid, stop: () => proc.stop() };
    },
  };
}

async function main(): Promise<number> {
  if (!args['no-build']) buildIfStale((line) => process.stderr.write(`shadow: ${line}\n`));
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'turnout-shadow-bench-'));
  let origin: OriginHandle | null = null;
  const lives: Live[] = [];
  try {
    origin = await startOrigin(tmpDir);
    for (const c of [shadowApp(0), shadowApp(100)]) lives.push({ contender: c, running: await c.start(origin, tmpDir) });
    for (const live of lives) await measureOnce(live, Number(args.connections), 2);
    const rps: number[][] = [[], []];
    const p99: number[][] = [[], []];
    for (let r = 0; r < Number(args.rounds); r++) {
      for (const [i, live] of lives.entries()) {
        const s = await measureOnce(live, Number(args.connections), Number(args.seconds));
        rps[i]!.push(s.rps);
        p99[i]!.push(s.p99);
        process.stdout.write(`round ${r + 1}: ${live.contender.id} ${Math.round(s.rps)} req/s, p99 ${s.p99.toFixed(1)} ms, errors ${s.errors + s.non2xx}\n`);
      }
    }
    const [off, on] = [0, 1].map((i) => ({ rps: median(rps[i]!), p99: median(p99[i]!) }));
    process.stdout.write(
      `\nshadow 0%: ${Math.round(off!.rps)} req/s, p99 ${off!.p99.toFixed(1)} ms\n` +
        `shadow 100%: ${Math.round(on!.rps)} req/s, p99 ${on!.p99.toFixed(1)} ms\n` +
        `throughput 100% / 0%: ${(on!.rps / off!.rps).toFixed(3)}; added p99: ${(on!.p99 - off!.p99).toFixed(1)} ms (medians of ${args.rounds} rounds)\n`,
    );
    return 0;
  } finally {
    await Promise.allSettled(lives.map((l) => l.running.stop()));
    await origin?.stop();
    await stopAll();
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

runMain('shadow', main);
