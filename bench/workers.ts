// `npm run bench -- --workers` (or `node bench/workers.ts`): the multi-core part of the bench
// (issue 13), unpinned because the point is to use every core. Interleaved in one run:
//   turnout-workers-2         Turnout workers: 2 (each worker binds its own SO_REUSEPORT socket)
//   turnout-workers-2-shared  the same with node:cluster's shared handle (TURNOUT_WORKERS_LISTEN=shared)
//   undici-cluster-2          node:cluster × 2 of the minimal undici proxy (the multi-core baseline)
//   turnout-workers-auto      Turnout workers: auto (os.availableParallelism() workers)
//   turnout-workers-1         Turnout as one process
//   undici-proxy              the minimal undici proxy, one process (p99 and RSS baseline)
// Throughput (autocannon, 100 connections), CPU µs per request of the whole process tree, added
// latency at a paced 2000 req/s, and peak RSS per process (VmHWM).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startOrigin } from './lib/origin.ts';
import { BENCH_DIR, NODE, startProcess, stopAll, waitForLine } from './lib/procs.ts';
import { processTree } from './lib/proc-stats.ts';
import { readFileSync } from 'node:fs';
import { throughputRounds, type Live } from './scenarios/throughput.ts';
import { latencyRounds } from './scenarios/latency.ts';
import { medianRatio, summariseLatency, summariseThroughput } from './lib/report.ts';
import { fmtFixed, fmtInt, fmtMB, fmtSigned, markdownTable } from './lib/table.ts';
import { buildIfStale, startTurnout, turnoutAvailable } from './contenders/turnout.ts';
import type { Contender } from './contenders/index.ts';
import { median } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: {
    workers: { type: 'boolean', default: true },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    'latency-rounds': { type: 'string' },
    'latency-seconds': { type: 'string' },
    smoke: { type: 'boolean', default: false },
    'semi-space': { type: 'string' },
  },
  strict: false,
});
const num = (v: unknown, d: number) => (typeof v === 'string' ? Number(v) : d);
const smoke = args.smoke === true;
const settings = {
  rounds: num(args.rounds, smoke ? 1 : 8),
  seconds: num(args.seconds, smoke ? 0.5 : 3),
  connections: 100,
  warmupSeconds: smoke ? 0 : 2,
  latencyRounds: num(args['latency-rounds'], smoke ? 1 : 5),
  latencySeconds: num(args['latency-seconds'], smoke ? 1 : 4),
  rate: 2000,
};
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
const semiSpace = typeof args['semi-space'] === 'string' ? [`--max-semi-space-size=${args['semi-space']}`] : [];

function undiciScript(id: string, label: string, script: string, extra: string[] = []): Contender {
  return {
    id,
    label,
    isProxy: true,
    unavailable: () => null,
    async start(origin, tmp) {
      const proc = startProcess({ name: id, command: NODE, args: [path.join(BENCH_DIR, 'contenders', script), origin.blue, ...extra], logFile: path.join(tmp, `${id}.log`) });
      const port = await waitForLine(proc, /LISTENING (\d+)/);
      return { url: `http://127.0.0.1:${port}`, pid: proc.pid, stop: () => proc.stop() };
    },
  };
}

function turnout(id: string, label: string, workers: number | 'auto', env?: Record<string, string>): Contender {
  return {
    id,
    label,
    isProxy: true,
    unavailable: turnoutAvailable,
    start: (origin, tmp) => startTurnout(id, origin, tmp, { weight: 10, overrides: true, workers, ...(env ? { env } : {}), nodeArgs: semiSpace }),
  };
}

const CONTENDERS: Contender[] = [
  turnout('turnout-workers-2', 'Turnout workers: 2 (SO_REUSEPORT per worker)', 2),
  undiciScript('undici-cluster-2', 'node:cluster × 2 of the minimal undici proxy', 'undici-cluster.ts', ['2']),
  turnout('turnout-workers-1', 'Turnout workers: 1', 1),
  turnout('turnout-workers-auto', `Turnout workers: auto (${os.availableParallelism()} here)`, 'auto'),
  turnout('turnout-workers-2-shared', "Turnout workers: 2 (node:cluster's shared handle)", 2, { TURNOUT_WORKERS_LISTEN: 'shared' }),
  undiciScript('undici-proxy', 'minimal undici proxy, one process', 'undici-proxy.ts'),
];

function hwm(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function main(): Promise<number> {
  buildIfStale(log);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'turnout-bench-workers-'));
  const origin = await startOrigin(tmp);
  const lives: Live[] = [];
  try {
    for (const c of CONTENDERS) lives.push({ contender: c, running: await c.start(origin, tmp) });
    const loadAtStart = os.loadavg()[0]!;
    const throughput = await throughputRounds(lives, { ...settings, log });
    const latency = await latencyRounds(lives, { rounds: settings.latencyRounds, seconds: settings.latencySeconds, rate: settings.rate, tmpDir: tmp, log });
    // Peak RSS of each process of the tree: per worker for the multi-process contenders.
    const rss: Record<string, { perProcess: number[]; maxWorker: number }> = {};
    for (const l of lives) {
      const tree = processTree(l.running.pid);
      const perProcess = tree.map(hwm);
      // A multi-process contender's workers are the tree minus its root (the supervisor/primary).
      const workers = tree.length > 1 ? perProcess.slice(1) : perProcess;
      rss[l.contender.id] = { perProcess, maxWorker: Math.max(...workers) };
    }
    const rows = lives.map((l) => {
      const id = l.contender.id;
      const t = summariseThroughput(throughput, id);
      const lat = summariseLatency(latency, id, 'undici-proxy');
      const pacedCpu = latency.map((r) => r[id]?.cpuUsPerReq).filter((v): v is number => v !== undefined);
      return [
        id,
        fmtInt(t?.rps) + ((t?.errors ?? 0) + (t?.non2xx ?? 0) > 0 ? ` (${(t?.errors ?? 0) + (t?.non2xx ?? 0)} err)` : ''),
        fmtFixed(medianRatio(throughput, id, 'undici-cluster-2'), 2, '×'),
        fmtFixed(medianRatio(throughput, id, 'turnout-workers-1'), 2, '×'),
        fmtFixed(t?.cpuUsPerReq, 1),
        fmtFixed(pacedCpu.length ? median(pacedCpu) : null, 1),
        fmtFixed(lat?.p99 ?? null, 3),
        id === 'undici-proxy' ? '0' : fmtSigned(lat?.addedP99, 3),
        fmtMB(rss[id]!.maxWorker),
        rss[id]!.perProcess.map((b) => fmtMB(b)).join(' + '),
      ];
    });
    const table = markdownTable(
      ['contender', 'req/s (100 conns)', '× cluster×2', '× workers:1', 'CPU µs/req (tree)', `CPU µs/req @${settings.rate}/s`, `p99 ms @${settings.rate}/s`, 'p99 vs undici-proxy', 'peak RSS per worker', 'peak RSS per process'],
      rows,
    );
    const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`;
    const text = [
      `## Workers benchmark${smoke ? ' (smoke)' : ''}`,
      '',
      `Machine: ${machine}; unpinned (load generator, origin and proxies share the cores); 1-min load ${loadAtStart.toFixed(2)} at start, ${os.loadavg()[0]!.toFixed(2)} at end.${semiSpace.length ? ` Turnout node flags: ${semiSpace.join(' ')}.` : ''}`,
      '',
      table,
      '',
      `Medians of ${settings.rounds} interleaved throughput rounds × ${settings.seconds} s and ${settings.latencyRounds} latency rounds × ${settings.latencySeconds} s at ${settings.rate} req/s; ratios per round, then medianed. Legend: ${lives.map((l) => `${l.contender.id} = ${l.contender.label}`).join('; ')}.`,
      '',
    ].join('\n');
    process.stdout.write(text + '\n');
    const ratio = (a: string, b: string) => medianRatio(throughput, a, b);
    const cpu = (id: string) => summariseThroughput(throughput, id)?.cpuUsPerReq ?? null;
    const pacedCpu = (id: string) => {
      const v = latency.map((r) => r[id]?.cpuUsPerReq).filter((x): x is number => x !== undefined);
      return v.length ? median(v) : null;
    };
    const verdicts = [
      `workers:2 ≥ 0.9× cluster×2: ${fmtFixed(ratio('turnout-workers-2', 'undici-cluster-2'), 2, '×')}`,
      `workers:2 ≥ 1.2× workers:1: ${fmtFixed(ratio('turnout-workers-2', 'turnout-workers-1'), 2, '×')}`,
      `CPU µs/req workers:2 ≤ workers:1: ${fmtFixed(cpu('turnout-workers-2'), 1)} vs ${fmtFixed(cpu('turnout-workers-1'), 1)} at saturation, ${fmtFixed(pacedCpu('turnout-workers-2'), 1)} vs ${fmtFixed(pacedCpu('turnout-workers-1'), 1)} at ${settings.rate} req/s`,
      `workers:auto ÷ workers:1: ${fmtFixed(ratio('turnout-workers-auto', 'turnout-workers-1'), 2, '×')}`,
      `added p99 @2000/s of workers:1 vs undici proxy ≤ +0.3 ms: ${fmtSigned(summariseLatency(latency, 'turnout-workers-1', 'undici-proxy')?.addedP99, 3)} ms`,
      `peak RSS per worker ≤ 1.1× undici proxy: workers:2 ${fmtFixed(rss['turnout-workers-2']!.maxWorker / rss['undici-proxy']!.maxWorker, 2, '×')}, workers:1 ${fmtFixed(rss['turnout-workers-1']!.maxWorker / rss['undici-proxy']!.maxWorker, 2, '×')}`,
      `reuseport vs shared handle (workers:2): ${fmtFixed(ratio('turnout-workers-2', 'turnout-workers-2-shared'), 2, '×')}`,
    ];
    process.stdout.write(verdicts.map((v) => `    ${v}`).join('\n') + '\n');
    const out = path.join(BENCH_DIR, 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, smoke ? 'workers-smoke.json' : 'workers-latest.json'), JSON.stringify({ date: new Date().toISOString(), machine, settings, semiSpace, throughput, latency, rss, text, verdicts, medianRps: Object.fromEntries(lives.map((l) => [l.contender.id, median(throughput.map((r) => r[l.contender.id]!.rps))])) }, null, 2) + '\n');
    return 0;
  } finally {
    await Promise.allSettled(lives.map((l) => l.running.stop()));
    await origin.stop();
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    process.stderr.write(`bench: failed: ${(err as Error).stack ?? String(err)}\n`);
    await stopAll();
    process.exit(1);
  },
);
