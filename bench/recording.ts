// `npm run bench:recording`: what per-request recording (sliding windows, Prometheus aggregates)
// costs — Turnout with recording against Turnout without, same split config, same origin,
// interleaved rounds. The issue-4 target: throughput with recording within 5% of without.
// Options: --rounds N (5), --seconds S (5), --connections C (100), --no-build.
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Contender } from './contenders/index.ts';
import { buildIfStale } from './contenders/turnout.ts';
import { BENCH_DIR, NODE, startProcess, waitForLine } from './lib/procs.ts';
import { comparePair, runMain } from './lib/pair.ts';

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
        stop: () => proc.stop(),
      };
    },
  };
}

async function main(): Promise<number> {
  if (!args['no-build']) buildIfStale((line) => process.stderr.write(`recording: ${line}\n`));
  const r = await comparePair({
    name: 'recording',
    baseline: turnoutApp('recording-off', false),
    candidate: turnoutApp('recording-on', true),
    rounds: Number(args.rounds),
    seconds: Number(args.seconds),
    connections: Number(args.connections),
  });
  process.stdout.write(
    `\nCPU µs/req: on ${r.cpuUsPerReq.candidate.toFixed(1)}, off ${r.cpuUsPerReq.baseline.toFixed(1)}\n` +
      `throughput with recording / without: ${r.ratio.toFixed(3)} (median of per-round ratios) — ${r.ratio >= 0.95 ? 'MET' : 'MISSED'} (target ≥ 0.95)\n`,
  );
  return 0;
}

runMain('recording', main);
