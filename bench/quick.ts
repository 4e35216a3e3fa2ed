// `npm run bench:quick`: the issue-2 check in under a minute — the minimal undici proxy and
// Turnout (10% sticky-cookie split, overrides on) against the same origin, interleaved
// rounds, both req/s figures and the ratio (target ≥ 0.9).
// Options: --rounds N (5), --seconds S (5), --no-build, --cpu-prof DIR (profile Turnout),
// --pin (load generator and origin on CPU 0, the proxies on CPU 1).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TURNOUT_SPLIT, UNDICI_PROXY } from './contenders/index.ts';
import { buildIfStale, setTurnoutNodeArgs } from './contenders/turnout.ts';
import { startOrigin, type OriginHandle } from './lib/origin.ts';
import { enablePinning, stopAll } from './lib/procs.ts';
import { median } from './lib/stats.ts';
import { measureOnce, type Live } from './scenarios/throughput.ts';
import { TARGETS } from './lib/report.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '100' },
    'no-build': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    pin: { type: 'boolean', default: false },
  },
});
const rounds = Number(args.rounds);
const seconds = Number(args.seconds);
const connections = Number(args.connections);

async function main(): Promise<number> {
  if (!args['no-build']) buildIfStale((line) => process.stderr.write(`quick: ${line}\n`));
  if (args.pin) enablePinning();
  const reason = TURNOUT_SPLIT.unavailable();
  if (reason) {
    process.stderr.write(`quick: ${reason}\n`);
    return 1;
  }
  if (args['cpu-prof']) setTurnoutNodeArgs(['--cpu-prof', '--cpu-prof-dir', path.resolve(args['cpu-prof'])]);
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'turnout-quick-'));
  process.once('exit', () => rmSync(tmpDir, { recursive: true, force: true }));
  let origin: OriginHandle | null = null;
  const lives: Live[] = [];
  try {
    origin = await startOrigin(tmpDir);
    for (const contender of [UNDICI_PROXY, TURNOUT_SPLIT]) lives.push({ contender, running: await contender.start(origin, tmpDir) });
    // Warm-up: JIT and connection pools, not measured.
    for (const live of lives) await measureOnce(live, connections, 2);
    const ratios: number[] = [];
    const rps: Record<string, number[]> = { [UNDICI_PROXY.id]: [], [TURNOUT_SPLIT.id]: [] };
    // CPU per request is the steadier figure when other work shares the cores.
    const cpu: Record<string, number[]> = { [UNDICI_PROXY.id]: [], [TURNOUT_SPLIT.id]: [] };
    for (let r = 0; r < rounds; r++) {
      const figures: Record<string, number> = {};
      for (const live of lives) {
        const s = await measureOnce(live, connections, seconds);
        figures[live.contender.id] = s.rps;
        rps[live.contender.id]!.push(s.rps);
        if (s.cpuUsPerReq !== null) cpu[live.contender.id]!.push(s.cpuUsPerReq);
        if (s.errors + s.non2xx > 0) process.stderr.write(`quick: ${live.contender.id}: ${s.errors} errors, ${s.non2xx} non-2xx\n`);
      }
      const ratio = figures[TURNOUT_SPLIT.id]! / figures[UNDICI_PROXY.id]!;
      ratios.push(ratio);
      process.stdout.write(`round ${r + 1}/${rounds}: undici-proxy ${Math.round(figures[UNDICI_PROXY.id]!)} req/s, turnout-split ${Math.round(figures[TURNOUT_SPLIT.id]!)} req/s, ratio ${ratio.toFixed(3)}\n`);
    }
    const ratio = median(ratios);
    process.stdout.write(
      `\nmedian: undici-proxy ${Math.round(median(rps[UNDICI_PROXY.id]!))} req/s (${median(cpu[UNDICI_PROXY.id]!).toFixed(1)} CPU µs/req), ` +
        `turnout-split ${Math.round(median(rps[TURNOUT_SPLIT.id]!))} req/s (${median(cpu[TURNOUT_SPLIT.id]!).toFixed(1)} CPU µs/req)\n` +
        `ratio turnout-split / undici-proxy: ${ratio.toFixed(3)} (median of per-round ratios) — ${ratio >= TARGETS.vsUndici ? 'MET' : 'MISSED'} (target ≥ ${TARGETS.vsUndici})\n`,
    );
    return 0;
  } finally {
    // Turnout writes its --cpu-prof file on a clean exit (SIGTERM → drain → exit 0).
    await Promise.allSettled(lives.map((l) => l.running.stop()));
    await origin?.stop();
    await stopAll();
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    process.stderr.write(`quick: failed: ${(err as Error).stack ?? String(err)}\n`);
    await stopAll();
    process.exit(1);
  },
);
