// `npm run bench:shadow`: what shadow comparison costs the client (issue 17, item 6), in one run
// against one origin, rounds interleaved so a slow minute on a shared machine hits every
// contender alike:
//   absent         Turnout whose data plane has no shadow hook at all (today without shadowing)
//   shadow-0       the hook present, percent 0 (must equal `absent` within noise: one branch)
//   shadow-100     every GET mirrored to green and compared
//   shadow-100-slow  the same with a green that answers 500 ms late:
//                  the client's answer must not wait for it (CONTRACT §9); shadows beyond
//                  shadow.memoryBytes are dropped and counted
// Rounds rotate the order. For a figure the machine's load does not move, see
// bench/shadow-instructions.ts (instructions per request under callgrind).
// Two measurements per round: throughput at saturation (autocannon, --connections) with the
// proxy's CPU µs per request, and latency at a fixed paced load (wrk, --rate req/s; PITFALLS:
// added latency is measured paced, not at saturation).
// Options: --rounds N (3), --seconds S (5), --connections C (50), --rate R (500), --no-build.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import type { Contender } from './contenders/index.ts';
import { buildIfStale } from './contenders/turnout.ts';
import { BENCH_DIR, NODE, startProcess, stopAll, waitForLine } from './lib/procs.ts';
import { startOrigin, type OriginHandle } from './lib/origin.ts';
import { measureOnce, type Live } from './scenarios/throughput.ts';
import { runPaced } from './lib/load.ts';
import { median } from './lib/stats.ts';
import { runMain } from './lib/pair.ts';
import { markdownTable } from './lib/table.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    rate: { type: 'string', default: '500' },
    'no-build': { type: 'boolean', default: false },
  },
});

const TOKEN = 'bench-shadow-token-0123456';
const admins = new Map<string, string>();

function shadowApp(id: string, percent: number | 'absent'): Contender {
  return {
    id,
    label: `Turnout, ${id}`,
    isProxy: true,
    unavailable: () => null,
    async start(origin, tmpDir) {
      const proc = startProcess({
        name: id,
        command: NODE,
        args: [path.join(BENCH_DIR, 'contenders', 'turnout-shadow-app.ts'), origin.blue, origin.green, String(percent)],
        logFile: path.join(tmpDir, `${id}.log`),
      });
      const line = await waitForLine(proc, /LISTENING (\d+ \S+)/);
      const [port, admin] = line.split(' ');
      admins.set(id, admin!);
      return { url: `http://127.0.0.1:${port}`, pid: proc.pid, stop: () => proc.stop() };
    },
  };
}

async function shadowView(id: string): Promise<string> {
  const admin = admins.get(id);
  if (admin === undefined) return '';
  const res = await request(`${admin}/api/v1/shadow`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const v = (await res.body.json()) as { compared: number; mismatches: number; dropped: number; results: Record<string, number> };
  return `compared ${v.compared}, mismatches ${v.mismatches}, errors ${v.results.error}, dropped ${v.dropped}`;
}

interface Figures {
  rps: number[];
  cpuUs: number[];
  satP99: number[];
  pacedP50: number[];
  pacedP99: number[];
}

async function main(): Promise<number> {
  if (!args['no-build']) buildIfStale((line) => process.stderr.write(`shadow: ${line}\n`));
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'turnout-shadow-bench-'));
  const origins: OriginHandle[] = [];
  const lives: Live[] = [];
  const log = (line: string) => process.stdout.write(`${line}\n`);
  try {
    // Blue (every client's answer) is one origin process for all; green, which sees only
    // shadows, is a process of its own, as the idle deployment would be: mirroring then does not
    // double the work of the process that answers the clients. Both answer alike (a comparison
    // that matches, the common case); the slow green answers 500 ms late.
    const same = { ORIGIN_SAME_ANSWER: '1' };
    const blueOrigin = await startOrigin(tmpDir, { env: same, name: 'origin-blue' });
    const greenOrigin = await startOrigin(tmpDir, { env: same, name: 'origin-green' });
    const slowOrigin = await startOrigin(tmpDir, { env: { ...same, ORIGIN_GREEN_DELAY_MS: '500' }, name: 'origin-green-slow' });
    origins.push(blueOrigin, greenOrigin, slowOrigin);
    const pair = (green: OriginHandle): OriginHandle => ({ ...blueOrigin, green: green.green });
    const contenders: [Contender, OriginHandle][] = [
      [shadowApp('absent', 'absent'), pair(greenOrigin)],
      [shadowApp('shadow-0', 0), pair(greenOrigin)],
      [shadowApp('shadow-100', 100), pair(greenOrigin)],
      [shadowApp('shadow-100-slow', 100), pair(slowOrigin)],
    ];
    for (const [c, o] of contenders) lives.push({ contender: c, running: await c.start(o, tmpDir) });
    for (const live of lives) await measureOnce(live, Number(args.connections), 2); // warm-up
    const figures = new Map<string, Figures>(lives.map((l) => [l.contender.id, { rps: [], cpuUs: [], satP99: [], pacedP50: [], pacedP99: [] }]));
    for (let r = 0; r < Number(args.rounds); r++) {
      // Each round starts with the next contender: no one always runs right after another.
      for (const live of lives.map((_, i) => lives[(i + r) % lives.length]!)) {
        const f = figures.get(live.contender.id)!;
        const s = await measureOnce(live, Number(args.connections), Number(args.seconds));
        f.rps.push(s.rps);
        f.cpuUs.push(s.cpuUsPerReq ?? Number.NaN);
        f.satP99.push(s.p99);
        const p = await runPaced(live.running.url, { rate: Number(args.rate), seconds: Number(args.seconds), tmpDir });
        f.pacedP50.push(p.p50);
        f.pacedP99.push(p.p99);
        log(
          `round ${r + 1}: ${live.contender.id.padEnd(15)} ${Math.round(s.rps)} req/s, ${(s.cpuUsPerReq ?? 0).toFixed(1)} CPU µs/req, p99 ${s.p99.toFixed(1)} ms at saturation` +
            ` (${s.errors + s.non2xx} errors); paced ${Math.round(p.rps)} req/s p50 ${p.p50.toFixed(2)} ms p99 ${p.p99.toFixed(2)} ms (${p.errors + p.non2xx} errors, ${p.tool})`,
        );
      }
    }
    const base = figures.get('absent')!;
    const rows = lives.map((l) => {
      const f = figures.get(l.contender.id)!;
      return [
        l.contender.id,
        String(Math.round(median(f.rps))),
        (median(f.rps) / median(base.rps)).toFixed(3),
        median(f.cpuUs).toFixed(1),
        median(f.satP99).toFixed(1),
        median(f.pacedP50).toFixed(2),
        median(f.pacedP99).toFixed(2),
        (median(f.pacedP99) - median(base.pacedP99)).toFixed(2),
      ];
    });
    log(`\nmedians of ${args.rounds} interleaved rounds; saturation: autocannon ${args.connections} connections ${args.seconds} s; paced: ${args.rate} req/s ${args.seconds} s`);
    log(markdownTable(['contender', 'req/s', '× absent', 'CPU µs/req', 'p99 sat. ms', 'paced p50 ms', 'paced p99 ms', 'added p99 ms'], rows));
    for (const live of lives) if (live.contender.id !== 'absent') log(`${live.contender.id}: ${await shadowView(live.contender.id)}`);
    return 0;
  } finally {
    await Promise.allSettled(lives.map((l) => l.running.stop()));
    await Promise.allSettled(origins.map((o) => o.stop()));
    await stopAll();
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

runMain('shadow', main);
