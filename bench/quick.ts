// `npm run bench:quick`: the issue-2 check in under a minute — the minimal undici proxy and
// Turnout (10% sticky-cookie split, overrides on) against the same origin, interleaved
// rounds, both req/s figures and the ratio (target ≥ 0.9).
// Options: --rounds N (5), --seconds S (5), --no-build, --cpu-prof DIR (profile Turnout),
// --pin (load generator and origin on CPU 0, the proxies on CPU 1).
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TURNOUT_SPLIT, UNDICI_PROXY } from './contenders/index.ts';
import { buildIfStale, setTurnoutNodeArgs } from './contenders/turnout.ts';
import { enablePinning } from './lib/procs.ts';
import { comparePair, runMain } from './lib/pair.ts';
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
  const r = await comparePair({ name: 'quick', baseline: UNDICI_PROXY, candidate: TURNOUT_SPLIT, rounds, seconds, connections });
  process.stdout.write(
    `\nmedian: undici-proxy ${Math.round(r.rps.baseline)} req/s (${r.cpuUsPerReq.baseline.toFixed(1)} CPU µs/req), ` +
      `turnout-split ${Math.round(r.rps.candidate)} req/s (${r.cpuUsPerReq.candidate.toFixed(1)} CPU µs/req)\n` +
      `ratio turnout-split / undici-proxy: ${r.ratio.toFixed(3)} (median of per-round ratios) — ${r.ratio >= TARGETS.vsUndici ? 'MET' : 'MISSED'} (target ≥ ${TARGETS.vsUndici})\n`,
  );
  return 0;
}

runMain('quick', main);
