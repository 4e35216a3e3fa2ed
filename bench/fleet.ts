// `npm run bench:fleet`: a fleet of 3 Turnout replicas (real `turnout serve` processes) on one
// redis-server, in front of the bench origin (CONTRACT §6, issue 14). Measures:
//   1. convergence: over N changes (flips) through replica 1, the time from the write's 200 to
//      replicas 2 and 3 routing by it (polling their proxies), with fleet.convergeTimeoutMs 0
//      (the answer does not wait: raw propagation) — p50/p99/max;
//   2. the same with the default convergeTimeoutMs (the answer waits for every replica's ack):
//      how often the first request after the 200 was already routed by it, and `converged`;
//   3. admin write latency (PUT /api/v1/canary) with the Redis store (3 replicas, waiting for
//      acks) against the file store (one process);
//   4. proxy throughput of one replica on the Redis store against one on the file store
//      (autocannon, interleaved rounds): nothing on the per-request path touches Redis.
// Options: --changes N (200), --rounds N (3), --seconds S (5), --connections C (50), --no-build.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { buildIfStale } from './contenders/turnout.ts';
import { runAutocannon } from './lib/load.ts';
import { startOrigin } from './lib/origin.ts';
import { freePort, NODE, ROOT_DIR, startProcess, stopAll, waitForHttp, type Proc } from './lib/procs.ts';

const { values: args } = parseArgs({
  options: {
    changes: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    'no-build': { type: 'boolean', default: false },
  },
});
const CHANGES = Number(args.changes);
const TOKEN = 'bench-fleet-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

interface Replica {
  readonly proc: Proc;
  readonly proxy: string;
  readonly admin: string;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
const fmt = (ms: number) => `${ms.toFixed(2)} ms`;
function summary(values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  return `p50 ${fmt(quantile(s, 0.5))}, p99 ${fmt(quantile(s, 0.99))}, max ${fmt(s.at(-1) ?? NaN)} (n=${s.length})`;
}

async function startRedis(dir: string): Promise<{ url: string; proc: Proc }> {
  if (spawnSync('sh', ['-c', 'command -v redis-server']).status !== 0) throw new Error('redis-server not installed (apt-get install redis-server)');
  const port = await freePort();
  const proc = startProcess({ name: 'redis', command: 'redis-server', args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], logFile: path.join(dir, 'redis.log') });
  for (let i = 0; i < 100; i++) {
    const r = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' });
    if (r.stdout?.trim() === 'PONG') return { url: `redis://127.0.0.1:${port}`, proc };
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('redis-server did not start');
}

async function startReplica(dir: string, name: string, origin: { blue: string; green: string }, state: Record<string, unknown>, fleet: Record<string, unknown> = {}): Promise<Replica> {
  const proxyPort = await freePort();
  const adminPort = await freePort();
  const config = {
    listen: { host: '127.0.0.1', port: proxyPort },
    admin: { host: '127.0.0.1', port: adminPort, token: TOKEN },
    upstreams: { blue: { targets: [origin.blue] }, green: { targets: [origin.green] } },
    routing: { sticky: { by: 'none' } },
    state,
    fleet: { replica: name, ...fleet },
  };
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(config));
  const proc = startProcess({ name, command: NODE, args: [path.join(ROOT_DIR, 'dist', 'cli.js'), 'serve', '--config', file], logFile: path.join(dir, `${name}.log`) });
  const admin = `http://127.0.0.1:${adminPort}`;
  await waitForHttp(`${admin}/readyz`, { proc });
  return { proc, proxy: `http://127.0.0.1:${proxyPort}`, admin };
}

async function colourOf(proxy: string): Promise<string> {
  const res = await request(proxy + '/');
  await res.body.dump();
  return String(res.headers['x-turnout-colour'] ?? '');
}

async function write(r: Replica, method: 'POST' | 'PUT', route: string, body?: unknown): Promise<{ ms: number; json: { active: string; version: number; converged?: { applied: number; replicas: number } } }> {
  const t0 = performance.now();
  const res = await request(r.admin + route, { method, headers: auth, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const json = (await res.body.json()) as { active: string; version: number };
  if (res.statusCode !== 200) throw new Error(`${route}: ${res.statusCode} ${JSON.stringify(json)}`);
  return { ms: performance.now() - t0, json };
}

/** Flips through `via` N times; after each 200, the time until every other replica routes by it. */
async function convergence(via: Replica, others: Replica[]): Promise<{ times: number[]; firstAlready: number; converged: string[] }> {
  const times: number[] = [];
  const converged: string[] = [];
  let firstAlready = 0;
  for (let i = 0; i < CHANGES; i++) {
    const { json } = await write(via, 'POST', '/api/v1/flip');
    const at = performance.now();
    if (json.converged) converged.push(`${json.converged.applied}/${json.converged.replicas}`);
    let slowest = 0;
    let allFirst = true;
    await Promise.all(
      others.map(async (o) => {
        let first = true;
        for (;;) {
          if ((await colourOf(o.proxy)) === json.active) break;
          first = false;
          if (performance.now() - at > 5000) throw new Error(`${o.proc.name} did not route by version ${json.version} within 5 s`);
        }
        if (!first) allFirst = false;
        slowest = Math.max(slowest, performance.now() - at);
      }),
    );
    if (allFirst) firstAlready++;
    times.push(slowest);
  }
  return { times, firstAlready, converged };
}

async function writeLatency(r: Replica): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < CHANGES; i++) out.push((await write(r, 'PUT', '/api/v1/canary', { weight: (i % 50) + 1 })).ms);
  await write(r, 'PUT', '/api/v1/canary', { weight: 0 });
  return out;
}

async function main(): Promise<void> {
  if (!args['no-build']) buildIfStale((line) => process.stderr.write(`fleet: ${line}\n`));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-fleet-'));
  const origin = await startOrigin(dir);
  const redis = await startRedis(dir);
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    process.stdout.write(line + '\n');
  };
  say(`bench:fleet — ${CHANGES} changes, ${os.cpus().length} CPUs (shared machine: other work may be running), node ${process.version}`);

  // 1. Raw propagation: answers do not wait for acks.
  {
    const state = { store: 'redis', url: redis.url, key: 'raw' };
    const fleet = { convergeTimeoutMs: 0 };
    const rs = [await startReplica(dir, 'raw-1', origin, state, fleet), await startReplica(dir, 'raw-2', origin, state, fleet), await startReplica(dir, 'raw-3', origin, state, fleet)];
    const c = await convergence(rs[0]!, rs.slice(1));
    say(`convergence, answer not waiting (convergeTimeoutMs 0): 200 on replica 1 → replicas 2 and 3 route by it: ${summary(c.times)}`);
    await Promise.all(rs.map((r) => r.proc.stop()));
  }
  // 2. Default: answers wait for every live replica's ack.
  const state = { store: 'redis', url: redis.url, key: 'fleet' };
  const rs = [await startReplica(dir, 'r1', origin, state), await startReplica(dir, 'r2', origin, state), await startReplica(dir, 'r3', origin, state)];
  {
    const c = await convergence(rs[0]!, rs.slice(1));
    const full = c.converged.filter((x) => x === '3/3').length;
    say(`convergence, answer waiting for acks (convergeTimeoutMs 1000): the first request to each other replica after the 200 was already routed by it in ${c.firstAlready}/${CHANGES} changes; converged 3/3 in ${full}/${c.converged.length}; (that first request's round trip: ${summary(c.times)})`);
  }
  const file = await startReplica(dir, 'file', origin, { store: 'file', path: path.join(dir, 'state.json') });
  say(`admin write latency (PUT /api/v1/canary, sequential): redis store, 3 replicas, waiting for acks: ${summary(await writeLatency(rs[0]!))}`);
  say(`admin write latency (PUT /api/v1/canary, sequential): file store, one process (fsync): ${summary(await writeLatency(file))}`);

  // 4. Throughput, interleaved rounds.
  await Promise.all([rs[1]!.proc.stop(), rs[2]!.proc.stop()]);
  const rps: Record<'redis' | 'file', number[]> = { redis: [], file: [] };
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const [name, r] of [['redis', rs[0]!], ['file', file]] as const) {
      const result = await runAutocannon(r.proxy, { connections: Number(args.connections), seconds: Number(args.seconds) });
      rps[name].push(result.rps);
      process.stderr.write(`fleet: round ${round + 1} ${name}: ${result.rps.toFixed(0)} req/s (errors ${result.errors}, non-2xx ${result.non2xx})\n`);
    }
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  say(`proxy throughput (autocannon, ${args.connections} connections, ${args.rounds}×${args.seconds} s interleaved): redis store ${median(rps.redis).toFixed(0)} req/s, file store ${median(rps.file).toFixed(0)} req/s, ratio ${(median(rps.redis) / median(rps.file)).toFixed(3)} (rounds: redis ${rps.redis.map((x) => x.toFixed(0)).join(', ')}; file ${rps.file.map((x) => x.toFixed(0)).join(', ')})`);
  await stopAll();
  void redis;
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    process.stderr.write(`bench:fleet failed: ${(err as Error).stack ?? String(err)}\n`);
    await stopAll();
    process.exit(1);
  },
);
