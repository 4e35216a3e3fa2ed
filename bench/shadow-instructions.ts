// `node bench/shadow-instructions.ts`: instructions per request (valgrind callgrind) of Turnout
// with shadowing absent (no hook), at percent 0 and at percent 100: a figure that a shared,
// noisy machine does not move (issue 17: "percent 0 must equal today within noise"). Each
// contender runs under callgrind with instrumentation off; after a warm-up of --warmup requests
// instrumentation is switched on for --requests requests (--connections at a time), the counts are
// dumped and divided. Callgrind's slow-down makes timers fire more often per request (README), so
// compare these figures with each other, not with a profile at full speed.
// --rounds N runs the three N times, interleaved: how far two runs of the same code differ is
// the figure's own noise (JIT and GC work that callgrind's slow-down provokes now and then: one run
// in a few lands up to 15% higher), to hold any difference against. The minimum of the runs is the
// least disturbed figure; the ratio is taken of the minima.
// Options: --requests N (2000), --warmup N (1000), --connections C (10), --rounds N (2), --no-build.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { buildIfStale } from './contenders/turnout.ts';
import { BENCH_DIR, startProcess, stopAll, waitForLine, NODE } from './lib/procs.ts';
import { startOrigin } from './lib/origin.ts';
import { runMain } from './lib/pair.ts';
import { markdownTable } from './lib/table.ts';
import { median } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '1000' },
    connections: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    'no-build': { type: 'boolean', default: false },
  },
});

async function load(url: string, total: number, connections: number): Promise<number> {
  const agent = new Agent({ connections, pipelining: 1 });
  let next = 0;
  let ok = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < total) {
        next++;
        const res = await request(url, { dispatcher: agent });
        await res.body.dump();
        if (res.statusCode === 200) ok++;
      }
    }),
  );
  await agent.close();
  return ok;
}

/** Total Ir of the newest dump in `dir` for `pid`. */
function totalIr(dir: string, pid: number): number {
  const dumps = readdirSync(dir).filter((f) => f.startsWith(`callgrind.out.${pid}`)).sort();
  let total = 0;
  for (const f of dumps) {
    const m = /^(?:summary|totals): (\d+)/m.exec(readFileSync(path.join(dir, f), 'utf8'));
    if (m) total += Number(m[1]);
  }
  return total;
}

async function main(): Promise<number> {
  if (!args['no-build']) buildIfStale((line) => process.stderr.write(`shadow-instructions: ${line}\n`));
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'turnout-shadow-ir-'));
  const requests = Number(args.requests);
  const connections = Number(args.connections);
  const rows: string[][] = [];
  try {
    const same = { ORIGIN_SAME_ANSWER: '1' };
    const blue = await startOrigin(tmpDir, { env: same, name: 'origin-blue' });
    const green = await startOrigin(tmpDir, { env: same, name: 'origin-green' });
    const figures = new Map<string, number[]>([['absent', []], ['0', []], ['100', []]]);
    for (let round = 1; round <= Number(args.rounds); round++) for (const percent of figures.keys()) {
      const dir = path.join(tmpDir, `${percent}-${round}`);
      execFileSync('mkdir', ['-p', dir]);
      const proc = startProcess({
        name: `callgrind-${percent}`,
        command: 'valgrind',
        args: ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${dir}/callgrind.out.%p`, NODE, '--max-semi-space-size=8', path.join(BENCH_DIR, 'contenders', 'turnout-shadow-app.ts'), blue.blue, green.green, percent],
        logFile: path.join(tmpDir, `callgrind-${percent}.log`),
      });
      const port = (await waitForLine(proc, /LISTENING (\d+)/, 300_000)).split(' ')[0];
      const url = `http://127.0.0.1:${port}/`;
      await load(url, Number(args.warmup), connections);
      execFileSync('callgrind_control', ['-i', 'on', String(proc.pid)], { stdio: 'ignore' });
      const ok = await load(url, requests, connections);
      execFileSync('callgrind_control', ['-d', String(proc.pid)], { stdio: 'ignore' });
      execFileSync('callgrind_control', ['-i', 'off', String(proc.pid)], { stdio: 'ignore' });
      const ir = totalIr(dir, proc.pid) / requests;
      figures.get(percent)!.push(ir);
      process.stdout.write(`round ${round}: ${percent}: ${Math.round(ir)} instructions per request (${ok}/${requests} answered 200)\n`);
      await proc.stop();
    }
    const absentIr = Math.min(...figures.get('absent')!);
    for (const [percent, irs] of figures) {
      const min = Math.min(...irs);
      rows.push([percent === 'absent' ? 'absent (no hook)' : `percent ${percent}`, irs.map((x) => String(Math.round(x))).join(', '), String(Math.round(min)), String(Math.round(median(irs))), (min / absentIr).toFixed(4)]);
    }
    await blue.stop();
    await green.stop();
    process.stdout.write(`\n${requests} requests after a warm-up of ${args.warmup}, ${connections} connections, valgrind --tool=callgrind\n`);
    process.stdout.write(markdownTable(['contender', 'instructions / request, each run', 'min', 'median', 'min × absent'], rows) + '\n');
    return 0;
  } finally {
    await stopAll();
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

runMain('shadow-instructions', main);
