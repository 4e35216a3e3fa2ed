// `npm run bench:soak`: does Turnout's memory level off under a long mixed load? (issue 12, item 9)
//
// Runs `node <flags> dist/cli.js serve` (by default with the Node flags `npm start` ships) in
// front of two targets per colour, each its own process, and for `--minutes` (30) drives:
//   - paced client traffic (GETs with sticky cookies, some overridden to green, uploads,
//     downloads), client aborts before and during answers;
//   - a flip, weight change or rollback every 10 s through the admin API;
//   - a target SIGKILLed every 30 s and started again 5 s later;
//   - a flood of idle and half-sent sockets every 60 s, held 15 s.
// Every `--sample-seconds` (5) it records Turnout's RSS (/proc) and, from /metrics, its heap,
// young generation and external memory, as JSON lines in `--out` (bench/results/soak-*.jsonl).
// The verdict: RSS growth over the last `--window-minutes` (10; a third of a shorter run),
// least-squares fitted, must stay under 5 MB.
// Shorter smoke: `SOAK_MINUTES=2 npm run bench:soak` or `-- --minutes 2`. Other flags:
// --node-flags "…" (or SOAK_NODE_FLAGS; "" for Node's defaults), --rate (req/s, 1500),
// --concurrency (32), --cli PATH (or SOAK_CLI: another dist/cli.js), --snapshots (heap snapshots at the window's start and end, via SIGUSR2).
import { mkdtempSync, readFileSync, writeFileSync, appendFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import YAML from 'yaml';
import { request } from 'undici';
import { BENCH_DIR, NODE, ROOT_DIR, freePort, startProcess, stopAll, waitForHttp, waitForLine, type Proc } from './lib/procs.ts';
import { rssBytes } from './lib/proc-stats.ts';
import { MixedLoad } from './lib/soak-load.ts';
import { sleep } from './lib/stats.ts';
import { buildIfStale, TURNOUT_CLI } from './contenders/turnout.ts';
import { fitGrowth, shippedNodeFlags, type Sample } from './lib/soak-verdict.ts';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: process.env.SOAK_MINUTES ?? '30' },
    'window-minutes': { type: 'string' },
    'sample-seconds': { type: 'string', default: '5' },
    rate: { type: 'string', default: process.env.SOAK_RATE ?? '1500' },
    concurrency: { type: 'string', default: '32' },
    'node-flags': { type: 'string', default: process.env.SOAK_NODE_FLAGS },
    out: { type: 'string' },
    snapshots: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    /** Another build of Turnout (a copy of dist/), so rebuilding the worktree does not change a long run. */
    cli: { type: 'string', default: process.env.SOAK_CLI },
  },
});
const minutes = Number(args.minutes);
const windowMinutes = Number(args['window-minutes'] ?? Math.min(10, minutes / 3));
const sampleMs = Number(args['sample-seconds']) * 1000;
const nodeFlags = (args['node-flags'] ?? shippedNodeFlags(readFileSync(path.join(ROOT_DIR, 'package.json'), 'utf8')).join(' ')).split(/\s+/).filter(Boolean);
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const cli = path.resolve(args.cli ?? TURNOUT_CLI);
const out = path.resolve(args.out ?? path.join(BENCH_DIR, 'results', `soak-${stamp}.jsonl`));
const log = (line: string) => process.stderr.write(`soak: ${line}\n`);

interface TargetProc {
  readonly name: string;
  readonly port: number;
  proc: Proc | null;
}

async function startTarget(tmp: string, name: string, port: number): Promise<Proc> {
  const proc = startProcess({ name, command: NODE, args: [path.join(BENCH_DIR, 'soak-target.ts'), name, String(port)], logFile: path.join(tmp, `${name}.log`) });
  await waitForLine(proc, /TARGET (\d+)/);
  return proc;
}

/** Reads the few gauges the soak follows from Turnout's /metrics. */
async function scrape(admin: string): Promise<Record<string, number>> {
  const res = await request(`${admin}/metrics`, { headersTimeout: 5000, bodyTimeout: 5000 });
  const text = await res.body.text();
  const pick = (re: RegExp) => Number(re.exec(text)?.[1] ?? Number.NaN);
  return {
    heapUsedMB: pick(/^turnout_nodejs_heap_size_used_bytes (\S+)/m) / 2 ** 20,
    heapTotalMB: pick(/^turnout_nodejs_heap_size_total_bytes (\S+)/m) / 2 ** 20,
    newSpaceMB: pick(/^turnout_nodejs_heap_space_size_total_bytes\{space="new"\} (\S+)/m) / 2 ** 20,
    externalMB: pick(/^turnout_nodejs_external_memory_bytes (\S+)/m) / 2 ** 20,
  };
}

async function main(): Promise<number> {
  if (!args['no-build']) buildIfStale(log);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'turnout-soak-'));
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, '');
  const targets: TargetProc[] = [];
  for (const name of ['blue-1', 'blue-2', 'green-1', 'green-2']) {
    const port = await freePort();
    targets.push({ name, port, proc: await startTarget(tmp, name, port) });
  }
  const urls = (colour: string) => targets.filter((t) => t.name.startsWith(colour)).map((t) => `http://127.0.0.1:${t.port}`);
  const port = await freePort();
  const adminPort = await freePort();
  const token = `soak-${randomBytes(12).toString('hex')}`;
  const config = {
    listen: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: adminPort, token },
    upstreams: { blue: { targets: urls('blue') }, green: { targets: urls('green') } },
    healthCheck: { intervalMs: 1000, timeoutMs: 500 },
    shutdown: { drainSeconds: 2 },
    state: { store: 'memory' },
  };
  const configFile = path.join(tmp, 'turnout.yaml');
  writeFileSync(configFile, YAML.stringify(config));
  const turnout = startProcess({ name: 'turnout', command: NODE, args: [...nodeFlags, ...(args.snapshots ? ['--heapsnapshot-signal=SIGUSR2'] : []), cli, 'serve', '--config', configFile], cwd: tmp, logFile: path.join(tmp, 'turnout.log') });
  const url = `http://127.0.0.1:${port}`;
  const admin = `http://127.0.0.1:${adminPort}`;
  await waitForHttp(`${admin}/healthz`, { proc: turnout });
  await waitForHttp(`${url}/hello`, { proc: turnout });
  log(`turnout pid ${turnout.pid} (${cli}), node flags [${nodeFlags.join(' ')}], ${minutes} min, window ${windowMinutes} min, rate ${args.rate} req/s; samples → ${out}; logs in ${tmp}`);

  const load = new MixedLoad({ url, concurrency: Number(args.concurrency), rate: Number(args.rate) });
  const endAt = Date.now() + minutes * 60_000;
  const t0 = Date.now();
  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, fn: () => Promise<unknown> | void) => timers.push(setInterval(() => void Promise.resolve(fn()).catch((err) => log(`${(err as Error).message}`)), ms));

  const changes = { ok: 0, refused: 0 };
  const steps: [string, string, unknown?][] = [
    ['PUT', '/api/v1/canary', { weight: 10 }],
    ['POST', '/api/v1/flip'],
    ['PUT', '/api/v1/canary', { weight: 25 }],
    ['POST', '/api/v1/rollback'],
    ['PUT', '/api/v1/canary', { weight: 50 }],
    ['POST', '/api/v1/rollback'],
    ['POST', '/api/v1/rollback'],
  ];
  let step = 0;
  every(10_000, async () => {
    const [method, route, body] = steps[step++ % steps.length]!;
    const res = await request(`${admin}${route}`, {
      method: method as 'PUT' | 'POST',
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    await res.body.dump();
    if (res.statusCode === 200) changes.ok++;
    else changes.refused++;
  });

  let kills = 0;
  every(30_000, async () => {
    const target = targets[kills++ % targets.length]!;
    target.proc?.child.kill('SIGKILL');
    await target.proc?.exited;
    target.proc = null;
    await sleep(5000);
    target.proc = await startTarget(tmp, target.name, target.port);
  });

  every(60_000, () => load.flood(200, 15_000));

  const samples: Sample[] = [];
  const windowStart = endAt - windowMinutes * 60_000;
  let snapped = 0;
  every(sampleMs, async () => {
    const rss = rssBytes([turnout.pid]) / 2 ** 20;
    const metrics = await scrape(admin).catch(() => ({}));
    const sample: Sample = { t: (Date.now() - t0) / 1000, rssMB: rss, ...metrics, requests: load.counts.requests };
    samples.push(sample);
    appendFileSync(out, `${JSON.stringify(sample)}\n`);
    if (args.snapshots && ((snapped === 0 && Date.now() >= windowStart) || (snapped === 1 && Date.now() >= endAt - sampleMs))) {
      snapped++;
      turnout.child.kill('SIGUSR2');
      log(`heap snapshot ${snapped} requested (written in ${tmp})`);
    }
  });

  let lastReport = 0;
  while (Date.now() < endAt) {
    await sleep(1000);
    if (turnout.child.exitCode !== null || turnout.child.signalCode !== null) throw new Error(`turnout exited (log: ${tmp}/turnout.log)`);
    if (Date.now() - lastReport >= 60_000 && samples.length > 0) {
      lastReport = Date.now();
      const s = samples.at(-1)!;
      log(`t=${Math.round(s.t)}s rss ${s.rssMB.toFixed(1)} MB heap ${s.heapUsedMB?.toFixed(1)}/${s.heapTotalMB?.toFixed(1)} MB new ${s.newSpaceMB?.toFixed(1)} MB ext ${s.externalMB?.toFixed(1)} MB, ${load.counts.requests} requests`);
    }
  }
  for (const timer of timers) clearInterval(timer);
  await load.stop();
  await stopAll();

  const windowFrom = (windowStart - t0) / 1000;
  const growth = fitGrowth(samples.filter((s) => s.t >= windowFrom), windowMinutes * 60);
  const all = samples.map((s) => s.rssMB);
  const summary = {
    minutes,
    windowMinutes,
    nodeFlags,
    rate: Number(args.rate),
    achievedRate: Math.round(load.counts.requests / (minutes * 60)),
    load: load.counts,
    adminChanges: changes,
    targetKills: kills,
    rssMB: { first: all[0], last: all.at(-1), max: Math.max(...all) },
    window: growth,
    verdict: growth.fittedMB < 5 ? 'MET' : 'MISSED',
    machine: `${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at the end (shared machine)`,
  };
  appendFileSync(out, `${JSON.stringify({ summary })}\n`);
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(
    `\n${summary.verdict}  RSS growth over the last ${windowMinutes} min < 5 MB: fitted ${growth.fittedMB.toFixed(2)} MB ` +
      `(last minute minus first minute of the window ${growth.endMinusStartMB.toFixed(2)} MB; range ${growth.minMB.toFixed(1)}–${growth.maxMB.toFixed(1)} MB)\n`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  async (err) => {
    log(`failed: ${(err as Error).stack ?? err}`);
    await stopAll();
    process.exit(1);
  },
);
