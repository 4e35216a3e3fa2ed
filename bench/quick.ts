// `npm run bench:quick`: the issue-2 check in under a minute — the minimal undici proxy and
// Turnout (10% sticky-cookie split, overrides on) against the same origin, interleaved
// rounds, both req/s figures and the ratio (target ≥ 0.9).
// Options: --rounds N (12), --seconds S (3), --no-build, --cpu-prof DIR (profile Turnout),
// --no-pin (by default the load generator and origin run on CPU 0, the proxies on CPU 1).
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TURNOUT_SPLIT, UNDICI_PROXY } from './contenders/index.ts';
import { buildIfStale, setTurnoutNodeArgs } from './contenders/turnout.ts';
import { pinned, tryEnablePinning } from './lib/procs.ts';
import { comparePair, runMain } from './lib/pair.ts';
import { TARGETS } from './lib/report.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '12' },
    seconds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '100' },
    'no-build': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
  },
});
const rounds = Number(args.rounds);
const seconds = Number(args.seconds);
const connections = Number(args.connections);

async function main(): Promise<number> {
  if (!args['no-build']) buildIfStale((line) => process.stderr.write(`quick: ${line}\n`));
  if (!args['no-pin']) tryEnablePinning((line) => process.stderr.write(`quick: ${line}\n`));
  const reason = TURNOUT_SPLIT.unavailable();
  if (reason) {
    process.stderr.write(`quick: ${reason}\n`);
    return 1;
  }
  if (args['cpu-prof']) setTurnoutNodeArgs(['--cpu-prof', '--cpu-prof-dir', path.resolve(args['cpu-prof'])]);
  const r = await comparePair({ name: 'quick', baseline: UNDICI_PROXY, candidate: TURNOUT_SPLIT, rounds, seconds, connections });
  process.stdout.write(
    `\n${pinned() ? 'pinned: load generator and origin on CPU 0, each proxy on CPU 1' : 'cores shared by load generator, origin and proxy'}; ${rounds} interleaved rounds × ${seconds} s\n` +
      `median: undici-proxy ${Math.round(r.rps.baseline)} req/s (${r.cpuUsPerReq.baseline.toFixed(1)} CPU µs/req), ` +
      `turnout-split ${Math.round(r.rps.candidate)} req/s (${r.cpuUsPerReq.candidate.toFixed(1)} CPU µs/req)\n` +
      `ratio turnout-split / undici-proxy: ${r.ratio.toFixed(3)} (median of per-round ratios) — ${r.ratio >= TARGETS.vsUndici ? 'MET' : 'MISSED'} (target ≥ ${TARGETS.vsUndici})\n`,
  );
  return 0;
}

runMain('quick', main);
