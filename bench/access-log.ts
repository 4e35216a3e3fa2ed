// `npm run bench:access-log`: what `log.access: true` costs — Turnout split with the access log
// on against the same with it off (both with the logger `serve` makes, writing to a file instead
// of stdout; off, only 502/503/504 causes would be logged, and there are none),
// same origin, interleaved rounds, the same-run ratio bench:recording uses.
// Options: --rounds N (5), --seconds S (5), --connections C (100), --no-build.
import { statSync } from 'node:fs';
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

const logSizes: Record<string, number> = {};

function turnoutApp(id: string, access: boolean): Contender {
  return {
    id,
    label: `Turnout split, access log ${access ? 'on' : 'off'}`,
    isProxy: true,
    unavailable: () => null,
    async start(origin, tmpDir) {
      const logFile = path.join(tmpDir, `${id}.access.log`);
      const proc = startProcess({
        name: id,
        command: NODE,
        args: [path.join(BENCH_DIR, 'contenders', 'turnout-app.ts'), origin.blue, origin.green, '--log', logFile, ...(access ? ['--access'] : [])],
        logFile: path.join(tmpDir, `${id}.log`),
      });
      const port = await waitForLine(proc, /LISTENING (\d+)/);
      return {
        url: `http://127.0.0.1:${port}`,
        pid: proc.pid,
        stop: async () => {
          await proc.stop();
          logSizes[id] = (logSizes[id] ?? 0) + (statSync(logFile, { throwIfNoEntry: false })?.size ?? 0);
        },
      };
    },
  };
}

async function main(): Promise<number> {
  if (!args['no-build']) buildIfStale((line) => process.stderr.write(`access-log: ${line}\n`));
  const r = await comparePair({
    name: 'access-log',
    baseline: turnoutApp('access-off', false),
    candidate: turnoutApp('access-on', true),
    rounds: Number(args.rounds),
    seconds: Number(args.seconds),
    connections: Number(args.connections),
  });
  process.stdout.write(
    `\nCPU µs/req: access log on ${r.cpuUsPerReq.candidate.toFixed(1)}, off ${r.cpuUsPerReq.baseline.toFixed(1)}\n` +
      `throughput with the access log / without: ${r.ratio.toFixed(3)} (median of per-round ratios)\n` +
      `log written: on ${((logSizes['access-on'] ?? 0) / 1e6).toFixed(1)} MB, off ${((logSizes['access-off'] ?? 0) / 1e6).toFixed(1)} MB\n`,
  );
  return 0;
}

runMain('access-log', main);
