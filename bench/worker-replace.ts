// `npm run bench:worker-replace [-- --kills N --smoke]`: how long a SIGKILLed worker takes to be
// replaced under load (CONTRACT §7: "within 1 second while the others keep serving"), with the
// warm spare (spareWorkers: 1, the default) and without it (spareWorkers: 0: a fresh fork),
// interleaved kill by kill in the same run. Bounded and loopback only: one origin, two Turnouts
// with workers: 2 on 127.0.0.1, autocannon (in this process) against the one whose worker is
// killed, N kills each.
//
// "Replaced" is the control plane's own timestamp of the replacement's `worker wN serving` line
// (sent by the worker once its socket is bound, so the kernel hands it connections from then on)
// minus the time just before process.kill() here: same machine, same clock. The load generator
// shares the two cores with the proxies and the origin: the figures include that contention.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startOrigin } from './lib/origin.ts';
import { stopAll } from './lib/procs.ts';
import { runAutocannon, type LoadResult } from './lib/load.ts';
import { buildIfStale, startTurnout } from './contenders/turnout.ts';
import { markdownTable } from './lib/table.ts';
import { sleep } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: { kills: { type: 'string' }, smoke: { type: 'boolean', default: false }, connections: { type: 'string' } },
  strict: false,
});
const smoke = args.smoke === true;
const kills = typeof args.kills === 'string' ? Number(args.kills) : smoke ? 2 : 10;
const connections = typeof args.connections === 'string' ? Number(args.connections) : 50;
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

interface LogLine {
  time: number;
  msg: string;
  pid?: number;
  worker?: string;
}

function logLines(file: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      // The control plane's lines carry pino's pid, then the worker's: JSON.parse keeps the last.
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // a line still being written
    }
  }
  return out;
}

/** id → pid of workers that serve now (logged serving, not logged dead since). */
function servingWorkers(lines: LogLine[]): Map<string, number> {
  const serving = new Map<string, number>();
  for (const l of lines) {
    const up = /^worker (w\d+) serving$/.exec(l.msg);
    if (up && l.pid !== undefined) serving.set(up[1]!, l.pid);
    const down = /^worker (w\d+) died/.exec(l.msg);
    if (down) serving.delete(down[1]!);
  }
  return serving;
}

function sparesWarm(lines: LogLine[]): number {
  const warm = new Set<string>();
  for (const l of lines) {
    const w = /^spare (w\d+) warm$/.exec(l.msg);
    if (w) warm.add(w[1]!);
    const taken = /^spare (w\d+) (takes|exited)/.exec(l.msg);
    if (taken) warm.delete(taken[1]!);
  }
  return warm.size;
}

/** Proportional set size: the pages a process shares with others (Node's code) counted by share. */
function pssKb(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function rssKb(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function quantile(sorted: number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

interface Kill {
  detectMs: number;
  servingMs: number;
  load: LoadResult;
}

async function main(): Promise<void> {
  buildIfStale(log);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'turnout-bench-replace-'));
  const origin = await startOrigin(tmp);
  const modes = [
    { id: 'spare', label: 'spareWorkers: 1 (warm spare)', spareWorkers: 1 },
    { id: 'fork', label: 'spareWorkers: 0 (fresh fork)', spareWorkers: 0 },
  ];
  const results = new Map<string, Kill[]>(modes.map((m) => [m.id, []]));
  const memory: string[] = [];
  try {
    const running = [];
    for (const m of modes) {
      const r = await startTurnout(`replace-${m.id}`, origin, tmp, { weight: 0, overrides: false, workers: 2, spareWorkers: m.spareWorkers });
      running.push({ mode: m, running: r, logFile: path.join(tmp, `replace-${m.id}.log`) });
    }
    const spareRun = running[0]!;
    await until(() => sparesWarm(logLines(spareRun.logFile)) === 1, 'the warm spare');
    {
      const lines = logLines(spareRun.logFile);
      const spare = [...lines].reverse().find((l) => /^spare w\d+ warm$/.test(l.msg))!.pid!;
      const workers = [...servingWorkers(lines).values()];
      const mb = (kb: number) => (kb / 1024).toFixed(1);
      memory.push(`idle, before any load: spare RSS ${mb(rssKb(spare))} MB (PSS ${mb(pssKb(spare))} MB); serving workers RSS ${workers.map((p) => mb(rssKb(p))).join(' / ')} MB (PSS ${workers.map((p) => mb(pssKb(p))).join(' / ')} MB)`);
    }
    for (let k = 0; k < kills; k++) {
      for (const r of running) {
        const before = logLines(r.logFile);
        const serving = servingWorkers(before);
        if (r.mode.spareWorkers > 0) await until(() => sparesWarm(logLines(r.logFile)) >= 1, 'a warm spare');
        const [victimId, victim] = [...serving][k % serving.size]!;
        const loadDone = runAutocannon(r.running.url, { connections, seconds: 3 });
        await sleep(800);
        const killedAt = Date.now();
        process.kill(victim, 'SIGKILL');
        await until(() => servingWorkers(logLines(r.logFile)).size === serving.size && !servingWorkers(logLines(r.logFile)).has(victimId), `a replacement for ${victimId}`);
        const after = logLines(r.logFile).slice(before.length);
        const died = after.find((l) => l.msg.startsWith(`worker ${victimId} died`))!;
        const up = after.find((l) => /^worker w\d+ serving$/.test(l.msg))!;
        const load = await loadDone;
        results.get(r.mode.id)!.push({ detectMs: died.time - killedAt, servingMs: up.time - killedAt, load });
        log(`${r.mode.id} kill ${k + 1}/${kills}: died logged +${died.time - killedAt} ms, replacement serving +${up.time - killedAt} ms; load ${Math.round(load.rps)} req/s, ${load.errors} errors`);
        // Let the replacement (and, with a spare, the next spare) settle before the next kill.
        await sleep(1500);
      }
    }
    if (spareRun) {
      const lines = logLines(spareRun.logFile);
      const workers = [...servingWorkers(lines).values()];
      memory.push(`after the kills: serving workers ${workers.map((p) => (rssKb(p) / 1024).toFixed(1)).join(' / ')} MB, control plane ${(rssKb(spareRun.running.pid) / 1024).toFixed(1)} MB`);
    }
    const rows = modes.map((m) => {
      const ks = results.get(m.id)!;
      const serving = ks.map((k) => k.servingMs).sort((a, b) => a - b);
      const detect = ks.map((k) => k.detectMs).sort((a, b) => a - b);
      const after = ks.map((k) => k.servingMs - k.detectMs).sort((a, b) => a - b);
      return [
        m.label,
        String(ks.length),
        `${quantile(serving, 0.5)}`,
        `${quantile(serving, 0.9)}`,
        `${serving.at(-1)}`,
        `${serving.filter((s) => s <= 1000).length}/${ks.length}`,
        `${quantile(detect, 0.5)} / ${detect.at(-1)}`,
        `${quantile(after, 0.5)} / ${after.at(-1)}`,
        `${ks.reduce((a, k) => a + k.load.errors + k.load.non2xx, 0)}`,
        `${Math.round(ks.reduce((a, k) => a + k.load.rps, 0) / Math.max(1, ks.length))}`,
      ];
    });
    const table = markdownTable(['mode', 'kills', 'serving p50 ms', 'p90 ms', 'max ms', '≤ 1 s', 'death seen p50 / max ms', 'then serving p50 / max ms', 'failed requests (all kills)', 'mean req/s during the kills'], rows);
    process.stdout.write(
      [
        `## Worker replacement under load${smoke ? ' (smoke)' : ''}`,
        '',
        `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, 1-min load ${os.loadavg()[0]!.toFixed(2)} at end; workers: 2, autocannon ${connections} connections in this process (sharing the cores).`,
        '',
        table,
        '',
        ...memory.map((m) => `- ${m}`),
        '',
      ].join('\n'),
    );
    await Promise.allSettled(running.map((r) => r.running.stop()));
  } finally {
    await origin.stop();
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    process.stderr.write(`bench: failed: ${(err as Error).stack ?? String(err)}\n`);
    await stopAll();
    process.exit(1);
  },
);
