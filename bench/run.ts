// `npm run bench [-- --smoke]`: starts the origin and every available contender as separate
// processes, runs the scenarios (throughput, added latency, flip under load, memory), prints
// a markdown table and one verdict line per target, and writes JSON to bench/results/.
// A missed target is printed as MISSED; the exit code is non-zero only when the harness
// itself failed (or with --strict, when a target was missed).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ALL_CONTENDERS, LOWMEM_NODE_ARGS, TURNOUT_SPLIT, TURNOUT_SPLIT_LOWMEM, TURNOUT_WEIGHT_0, type Contender } from './contenders/index.ts';
import { buildIfStale } from './contenders/turnout.ts';
import { WRK_AVAILABLE } from './lib/load.ts';
import { startOrigin, type OriginHandle } from './lib/origin.ts';
import { peakRssBytes, processTree } from './lib/proc-stats.ts';
import { BENCH_DIR, pinned, stopAll, tryEnablePinning } from './lib/procs.ts';
import { medianRatio, summariseLatency, summariseThroughput, verdictLine, verdicts } from './lib/report.ts';
import { round } from './lib/stats.ts';
import { fmtFixed, fmtInt, fmtMB, fmtSigned, markdownTable } from './lib/table.ts';
import { flipUnderLoad, type FlipResult } from './scenarios/flip.ts';
import { latencyRounds, type LatencyRound } from './scenarios/latency.ts';
import { transfer, type TransferResult } from './scenarios/memory.ts';
import { throughputRounds, type Live, type Round } from './scenarios/throughput.ts';

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    'latency-rounds': { type: 'string' },
    'latency-seconds': { type: 'string' },
    rate: { type: 'string' },
    only: { type: 'string' },
    out: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    strict: { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    // The multi-core part (issue 13): bench/workers.ts, unpinned; its own options pass through.
    workers: { type: 'boolean', default: false },
    'semi-space': { type: 'string' },
  },
});
if (args.workers) {
  await import('./workers.ts');
  // workers.ts runs and exits by itself.
  await new Promise(() => {});
}

const smoke = args.smoke === true;
const num = (v: string | undefined, fallback: number) => (v === undefined ? fallback : Number(v));
const settings = {
  // Many short rounds: a slow spell on this shared machine spoils a round or two, not the median.
  rounds: num(args.rounds, smoke ? 1 : 10),
  seconds: num(args.seconds, smoke ? 0.3 : 3),
  warmupSeconds: smoke ? 0 : 2,
  connections: 100,
  // Five rounds: with three, one slow spell on this shared machine decided the p99.
  latencyRounds: num(args['latency-rounds'], smoke ? 1 : 5),
  latencySeconds: num(args['latency-seconds'], smoke ? 1 : 4),
  rate: num(args.rate, 2000),
  flipSeconds: smoke ? 1.5 : 10,
  flipActions: smoke ? 4 : 10,
  flipConnections: 50,
  transferBytes: smoke ? 2 * 1024 * 1024 : 100 * 1024 * 1024,
};
const outDir = args.out ?? (smoke ? path.join(os.tmpdir(), 'turnout-bench-smoke') : path.join(BENCH_DIR, 'results'));
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

interface ContenderStatus {
  id: string;
  label: string;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
}

async function main(): Promise<number> {
  const started = Date.now();
  // Pinned by default (see procs.ts); the smoke run keeps the cores shared, like the tests around it.
  if (!smoke && !args['no-pin']) tryEnablePinning(log);
  // Other work on the machine skews every figure: record how busy it was.
  const loadAtStart = os.loadavg()[0]!;
  if (!args['no-build']) buildIfStale(log);
  const only = args.only ? new Set(args.only.split(',')) : null;
  const wanted = ALL_CONTENDERS.filter((c) => !only || only.has(c.id) || c.id === 'direct');
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'turnout-bench-'));
  const statuses: ContenderStatus[] = [];
  const lives: Live[] = [];
  let origin: OriginHandle | null = null;
  let harnessFailed = false;
  // Also on SIGINT, which exits without reaching `finally`.
  process.once('exit', () => {
    if (!harnessFailed) rmSync(tmpDir, { recursive: true, force: true });
  });
  try {
    origin = await startOrigin(tmpDir);
    const o = origin;
    const startable: Contender[] = [];
    for (const c of wanted) {
      const reason = c.unavailable();
      if (reason) {
        statuses.push({ id: c.id, label: c.label, status: 'skipped', reason });
        log(`${c.id}: ${reason}`);
      } else startable.push(c);
    }
    const started_ = await Promise.allSettled(startable.map((c) => c.start(o, tmpDir)));
    startable.forEach((c, i) => {
      const r = started_[i]!;
      if (r.status === 'fulfilled') {
        lives.push({ contender: c, running: r.value });
        statuses.push({ id: c.id, label: c.label, status: 'ok' });
      } else {
        harnessFailed = true;
        const reason = `failed to start: ${(r.reason as Error).message}`;
        statuses.push({ id: c.id, label: c.label, status: 'failed', reason });
        log(`${c.id}: ${reason}`);
      }
    });
    statuses.sort((a, b) => ALL_CONTENDERS.findIndex((c) => c.id === a.id) - ALL_CONTENDERS.findIndex((c) => c.id === b.id));
    lives.sort((a, b) => ALL_CONTENDERS.indexOf(a.contender) - ALL_CONTENDERS.indexOf(b.contender));
    log(`contenders: ${lives.map((l) => l.contender.id).join(', ')}`);

    const throughput: Round[] = await throughputRounds(lives, { ...settings, log });
    const latency: LatencyRound[] = await latencyRounds(lives, { rounds: settings.latencyRounds, seconds: settings.latencySeconds, rate: settings.rate, tmpDir, log });

    let flip: FlipResult | null = null;
    const flipTarget = lives.find((l) => l.contender === TURNOUT_SPLIT) ?? lives.find((l) => l.contender === TURNOUT_WEIGHT_0);
    if (flipTarget) {
      flip = await flipUnderLoad(flipTarget, o, { seconds: settings.flipSeconds, connections: settings.flipConnections, actions: settings.flipActions });
      log(`flip under load (${flip.contender}): ${flip.requests} requests, ${flip.errors} errors, ${flip.non2xx} non-2xx, blue ${flip.served.blue}, green ${flip.served.green}`);
    }

    const memory: Record<string, TransferResult> = {};
    for (const live of lives) {
      memory[live.contender.id] = await transfer(live, settings.transferBytes);
      const m = memory[live.contender.id]!;
      log(`transfer ${live.contender.id}: up ${m.uploadOk ? 'ok' : 'FAILED'} ${m.uploadMBps.toFixed(0)} MB/s, down ${m.downloadOk ? 'ok' : 'FAILED'} ${m.downloadMBps.toFixed(0)} MB/s${m.error ? ` (${m.error})` : ''}`);
    }

    const lifetimePeakRss: Record<string, number> = {};
    for (const live of lives) if (live.contender.isProxy) lifetimePeakRss[live.contender.id] = peakRssBytes(processTree(live.running.pid));

    const turnoutIds = [TURNOUT_WEIGHT_0.id, TURNOUT_SPLIT.id];
    const turnoutStatus = statuses.find((s) => s.id === TURNOUT_SPLIT.id);
    const v = verdicts({
      turnoutId: TURNOUT_SPLIT.id,
      turnoutIds,
      throughput,
      latency,
      flip,
      lifetimePeakRss,
      notMeasured: turnoutStatus && turnoutStatus.status !== 'ok' ? (turnoutStatus.reason ?? turnoutStatus.status) : null,
      rate: settings.rate,
      lowMem: { id: TURNOUT_SPLIT_LOWMEM.id, flags: LOWMEM_NODE_ARGS.join(' ') },
    });

    // ---- the table ----
    const rows = statuses.map((s) => {
      if (s.status !== 'ok') return [s.id, s.status === 'skipped' ? 'skipped' : 'FAILED', s.reason ?? '', '', '', '', '', '', ''];
      const t = summariseThroughput(throughput, s.id);
      const l = summariseLatency(latency, s.id);
      const m = memory[s.id];
      const vsUndici = medianRatio(throughput, s.id, 'undici-proxy');
      const errs = (t?.errors ?? 0) + (t?.non2xx ?? 0) + (l?.errors ?? 0);
      return [
        s.id,
        fmtInt(t?.rps) + (errs > 0 ? ` (${errs} err)` : ''),
        fmtFixed(vsUndici, 2, '×'),
        fmtFixed(t?.cpuUsPerReq, 1),
        s.id === 'direct' ? fmtFixed(l?.p50, 3) : fmtSigned(l?.addedP50, 3),
        s.id === 'direct' ? fmtFixed(l?.p99, 3) : fmtSigned(l?.addedP99, 3),
        s.id === 'direct' ? '–' : fmtMB(lifetimePeakRss[s.id]),
        m ? `${m.uploadOk ? fmtInt(m.uploadMBps) : 'FAILED'} / ${m.downloadOk ? fmtInt(m.downloadMBps) : 'FAILED'}` : '–',
        m && m.peakRssBytes !== null ? fmtMB(m.peakRssBytes) : '–',
      ];
    });
    const mb = Math.round(settings.transferBytes / 1024 / 1024);
    const table = markdownTable(
      ['contender', 'req/s (100 conns)', '× undici', 'proxy CPU µs/req', `p50 ms (added) @${settings.rate}/s`, `p99 ms (added) @${settings.rate}/s`, 'peak RSS', `${mb} MB up / down MB/s`, `RSS during ${mb} MB`],
      rows,
    );
    const latencyTool = lives.length ? (summariseLatency(latency, lives[0]!.contender.id)?.tool ?? '') : '';
    const notes = [
      `Medians of ${settings.rounds} interleaved throughput rounds × ${settings.seconds} s (autocannon, ${settings.connections} connections) and ${settings.latencyRounds} latency rounds × ${settings.latencySeconds} s (${latencyTool}, paced at ${settings.rate} req/s; "added" = minus direct to origin in the same round). Ratios are computed per round, then medianed.`,
      `Legend: ${statuses.map((s) => `${s.id} = ${s.label}`).join('; ')}.`,
      'autocannon tops out at about 60–75k req/s on one thread, so nginx may be capped by the load generator.',
      'Every contender gets the same requests: each connection carries its own sticky-id cookie (a returning visitor), which turnout-split routes by; blue and green are two listeners of the same origin process.',
      'Peak RSS is the proxy process tree\'s VmHWM at the end of the run. The two Node baselines run bench/*.ts through Node\'s type stripping (about +16 MB RSS at idle); Turnout runs compiled dist/.',
    ];
    const flipLine = flip
      ? `Flip under load (${flip.contender}, ${flip.connections} connections, ${flip.actions.length} flips/weight changes over ${settings.flipSeconds} s): ${flip.requests} requests, ${flip.errors} failed, ${flip.non2xx} non-2xx; served blue ${flip.served.blue}, green ${flip.served.green}; admin ${flip.actions.map((a) => `${a.action}→${a.status}`).join(', ')}.`
      : 'Flip under load: not run (Turnout not available).';
    const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 1024 ** 3)} GB, Node ${process.version}, ${os.platform()} ${os.release()}`;
    const text = [
      `## Benchmark${smoke ? ' (smoke: harness check only, numbers meaningless)' : ''}`,
      '',
      `Machine: ${machine}. ${pinned() ? 'Pinned (the default; `--no-pin` shares the cores): load generator and origin on CPU 0, each proxy alone on CPU 1' : 'Load generator, proxy and origin share these cores'} (1-min load average ${loadAtStart.toFixed(2)} at start, ${os.loadavg()[0]!.toFixed(2)} at end).`,
      '',
      table,
      '',
      ...notes,
      '',
      flipLine,
      '',
      '### Verdicts',
      '',
      ...v.map((x) => `    ${verdictLine(x)}`),
      '',
    ].join('\n');
    process.stdout.write(text + '\n');

    const results = {
      meta: {
        date: new Date().toISOString(),
        smoke,
        machine,
        node: process.version,
        cpus: os.cpus().length,
        settings,
        tools: { throughput: 'autocannon', latency: WRK_AVAILABLE ? 'wrk' : 'autocannon-paced' },
        durationSeconds: round((Date.now() - started) / 1000, 1),
        loadAverage: { start: loadAtStart, end: os.loadavg()[0]! },
      },
      contenders: statuses,
      throughput: {
        rounds: throughput,
        summary: Object.fromEntries(lives.map((l) => [l.contender.id, summariseThroughput(throughput, l.contender.id)])),
        vsUndici: Object.fromEntries(lives.map((l) => [l.contender.id, medianRatio(throughput, l.contender.id, 'undici-proxy')])),
        vsFastify: Object.fromEntries(lives.map((l) => [l.contender.id, medianRatio(throughput, l.contender.id, 'fastify-http-proxy')])),
      },
      latency: { rate: settings.rate, rounds: latency, summary: Object.fromEntries(lives.map((l) => [l.contender.id, summariseLatency(latency, l.contender.id)])) },
      flip,
      memory: { bytes: settings.transferBytes, transfers: memory, lifetimePeakRss },
      verdicts: v,
      markdown: text,
    };
    mkdirSync(outDir, { recursive: true });
    const json = JSON.stringify(results, null, 2) + '\n';
    const stamp = results.meta.date.replace(/[:.]/g, '-');
    writeFileSync(path.join(outDir, `${smoke ? 'smoke' : 'bench'}-${stamp}.json`), json);
    writeFileSync(path.join(outDir, 'latest.json'), json);
    log(`results: ${path.join(outDir, 'latest.json')} (${results.meta.durationSeconds} s)`);
    if (!smoke && args.out === undefined) {
      // The ready-to-paste block the README's benchmark section links to.
      const argv = process.argv.slice(2).join(' ');
      const command = `npm run bench${argv ? ` -- ${argv}` : ''}`;
      const md = [
        '<!-- generated by `npm run bench` (bench/run.ts); paste into the README or link here -->',
        text.replace(/^## Benchmark/, '## Benchmark results'),
        `Reproduce: \`${command}\` (about ${Math.ceil(results.meta.durationSeconds / 60)} min; \`bench/setup.sh\` installs nginx and wrk; \`npm run bench:quick\` is the one-minute Turnout vs undici check). Raw figures: \`bench/results/latest.json\`, run ${results.meta.date}.`,
        '',
      ].join('\n');
      writeFileSync(path.join(BENCH_DIR, 'RESULTS.md'), md);
      log('wrote bench/RESULTS.md');
    }
    if (args.strict && v.some((x) => x.met === false)) return 1;
    return harnessFailed ? 1 : 0;
  } finally {
    await Promise.allSettled(lives.map((l) => l.running.stop()));
    await origin?.stop();
    await stopAll();
    // Keep the logs when something failed to start: the error message names them.
    if (harnessFailed) log(`logs kept in ${tmpDir}`);
    else rmSync(tmpDir, { recursive: true, force: true });
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
