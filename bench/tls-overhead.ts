// What TLS and HTTP/2 add per request, Turnout against the minimal Node proxies: the proxy's CPU
// µs per request for plain HTTP/1.1, HTTP/1.1 over TLS and h2, the same fixed number of requests
// each (h2load for all three, so one client), repeated and interleaved. The TLS increment
// (TLS h1 − plain h1, h2 − plain h1) of Turnout against the minimal proxies' tells the TLS/h2
// path's own cost apart from the per-request path both listeners share (src/proxy/).
//   node bench/tls-overhead.ts [--rounds 3] [--requests 20000] [--cases 'Turnout h2,minimal h2']
//     [--turnout-args '--cpu-prof --cpu-prof-dir D'] [--minimal-args …] [--strace DIR] [--callgrind DIR]
import { execFileSync, execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import YAML from 'yaml';
import { startOrigin } from './lib/origin.ts';
import { BENCH_DIR, NODE, freePort, startProcess, stopAll, waitForLine, type Proc } from './lib/procs.ts';
import { TURNOUT_CLI, buildIfStale } from './contenders/turnout.ts';
import { cpuSeconds, processTree } from './lib/proc-stats.ts';

const run = promisify(execFile);
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const ROUNDS = Number(arg('rounds', '3'));
const REQUESTS = Number(arg('requests', '20000'));
const TURNOUT_NODE_ARGS = arg('turnout-args', '').split(' ').filter(Boolean);
const MINIMAL_NODE_ARGS = arg('minimal-args', '').split(' ').filter(Boolean);
const STRACE = arg('strace', '');
// Load shape: HTTP/1.1 connections, h2 sessions × streams (fewer handshakes under callgrind).
const H1_CONNECTIONS = arg('h1-connections', '64');
const H2_CLIENTS = arg('h2-clients', '16');
const H2_STREAMS = arg('h2-streams', '10');
// --callgrind DIR: every proxy runs under valgrind's callgrind, instrumentation on only during a
// load; the instructions per request are repeatable whatever else the machine runs. Slow (TLS
// handshakes under valgrind above all): use few requests and connections, e.g. --requests 2000
// --h1-connections 4 --h2-clients 1; on a machine shared with other callgrind runs it did not
// finish in 20 minutes.
const CALLGRIND = arg('callgrind', '');
const ONLY = arg('cases', '').split(',').filter(Boolean);
const COOKIE = 'cookie: turnout_id=bench-visitor-0001';

buildIfStale((l) => process.stderr.write(`${l}\n`));
const dir = mkdtempSync(path.join(tmpdir(), 'turnout-tls-overhead-'));
const cert = path.join(dir, 'tls.crt');
const key = path.join(dir, 'tls.key');
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });

function command(args: string[]): { command: string; args: string[] } {
  if (!CALLGRIND) return { command: NODE, args };
  return { command: 'valgrind', args: ['--tool=callgrind', '--instr-atstart=no', '--smc-check=all-non-file', `--callgrind-out-file=${CALLGRIND}/cg.%p`, NODE, ...args] };
}

/** Instructions the process executed between two calls (callgrind_control zero, then dump). */
async function instructions(pid: number, phase: 'start' | 'stop'): Promise<number> {
  if (phase === 'start') {
    await run('callgrind_control', ['-i', 'on', String(pid)]);
    await run('callgrind_control', ['-z', String(pid)]);
    return 0;
  }
  const { stdout } = await run('callgrind_control', ['-e', String(pid)]);
  await run('callgrind_control', ['-i', 'off', String(pid)]);
  // "Totals: Ir" then one "Th <n> <count>" line per thread: every thread counts (TLS, GC).
  const threads = [...stdout.matchAll(/^\s*Th\s+\d+\s+([\d,]+)/gm)].map((m) => Number(m[1]!.replace(/,/g, '')));
  if (threads.length === 0) throw new Error(`no totals from callgrind_control -e: ${stdout}`);
  return threads.reduce((a, b) => a + b, 0);
}

async function ready(url: string, proc: Proc): Promise<void> {
  const deadline = Date.now() + (CALLGRIND ? 300_000 : 15_000);
  for (;;) {
    try {
      const { stdout } = await run('curl', ['-sk', '-o', '/dev/null', '-w', '%{http_code}', `${url}/`]);
      if (stdout === '200') return;
    } catch {
      // not yet
    }
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited`);
    if (Date.now() > deadline) throw new Error(`${proc.name} not ready at ${url}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function turnout(blue: string, green: string, tls: boolean): Promise<{ url: string; pid: number }> {
  const port = await freePort();
  const config = {
    listen: { host: '127.0.0.1', port, ...(tls ? { tls: { cert, key } } : {}) },
    admin: { host: '127.0.0.1', port: await freePort(), token: `bench-${randomBytes(12).toString('hex')}` },
    upstreams: { blue: { targets: [blue] }, green: { targets: [green] } },
    shutdown: { drainSeconds: 1 },
    state: { store: 'memory' },
  };
  const file = path.join(dir, `turnout-${tls ? 'tls' : 'plain'}.yaml`);
  writeFileSync(file, YAML.stringify(config));
  const proc = startProcess({ name: `turnout-${tls}`, ...command([...TURNOUT_NODE_ARGS, TURNOUT_CLI, 'serve', '--config', file]), logFile: path.join(dir, `turnout-${tls}.log`) });
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  await ready(url, proc);
  return { url, pid: proc.pid };
}

async function minimal(script: string, args: string[], tls: boolean): Promise<{ url: string; pid: number }> {
  const proc = startProcess({ name: script, ...command([...MINIMAL_NODE_ARGS, path.join(BENCH_DIR, 'contenders', script), ...args]), logFile: path.join(dir, `${script}.log`) });
  const port = Number(await waitForLine(proc, /LISTENING (\d+)/, CALLGRIND ? 300_000 : 10_000));
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  await ready(url, proc);
  return { url, pid: proc.pid };
}

type Mode = 'plain h1' | 'TLS h1' | 'h2';
async function load(url: string, pid: number, mode: Mode): Promise<number> {
  const pids = processTree(pid);
  // --strace DIR: syscall counts of the proxy during the load (strace -c), one file per case.
  const tracer = STRACE ? spawn('strace', ['-c', '-f', '-o', path.join(STRACE, `${pid}-${mode.replace(' ', '-')}.txt`), '-p', String(pid)], { stdio: 'ignore' }) : undefined;
  if (tracer) await new Promise((r) => setTimeout(r, 500));
  if (CALLGRIND) await instructions(pid, 'start');
  const before = cpuSeconds(pids);
  const shape = mode === 'h2' ? ['-c', H2_CLIENTS, '-m', H2_STREAMS] : ['--h1', '-c', H1_CONNECTIONS];
  const { stdout } = await run('h2load', ['-n', String(REQUESTS), ...shape, '-t', '1', '-H', COOKIE, `${url}/`], { maxBuffer: 1 << 20 });
  if (!/ 0 failed/.test(stdout)) process.stderr.write(stdout);
  if (tracer) {
    tracer.kill('SIGINT');
    await new Promise((r) => tracer.once('exit', r));
  }
  // Under callgrind: thousands of instructions per request instead of µs.
  if (CALLGRIND) return (await instructions(pid, 'stop')) / REQUESTS / 1000;
  return ((cpuSeconds(pids) - before) * 1e6) / REQUESTS;
}

try {
  const origin = await startOrigin(dir);
  const t = { plain: await turnout(origin.blue, origin.green, false), tls: await turnout(origin.blue, origin.green, true) };
  const m = { plain: await minimal('undici-proxy.ts', [origin.blue], false), tls: await minimal('h2-undici-proxy.ts', [origin.blue, cert, key], true) };
  const cases: [string, Mode, { url: string; pid: number }][] = [
    ['Turnout', 'plain h1', t.plain], ['minimal', 'plain h1', m.plain],
    ['Turnout', 'TLS h1', t.tls], ['minimal', 'TLS h1', m.tls],
    ['Turnout', 'h2', t.tls], ['minimal', 'h2', m.tls],
  ];
  const results = new Map<string, number[]>();
  for (let round = 0; round <= ROUNDS; round++) {
    for (const [who, mode, c] of cases) {
      if (ONLY.length > 0 && !ONLY.includes(`${who} ${mode}`)) continue;
      const us = await load(c.url, c.pid, mode);
      process.stderr.write(`round ${round}: ${who} ${mode}: ${us.toFixed(1)} µs/req\n`);
      if (round > 0) results.set(`${who} ${mode}`, [...(results.get(`${who} ${mode}`) ?? []), us]);
    }
  }
  const min = (k: string) => Math.min(...results.get(k)!);
  const lines = [`CPU µs/request, lowest of ${ROUNDS} rounds × ${REQUESTS} requests (h2load; h1 -c${H1_CONNECTIONS}, h2 -c${H2_CLIENTS} -m${H2_STREAMS})${CALLGRIND ? ' — thousands of instructions per request (callgrind), not µs' : ''}`, '', '| | plain h1 | TLS h1 | h2 | TLS h1 − plain | h2 − plain |', '| --- | ---: | ---: | ---: | ---: | ---: |'];
  for (const who of ONLY.length > 0 ? [] : ['Turnout', 'minimal']) {
    const p = min(`${who} plain h1`), h1 = min(`${who} TLS h1`), h2 = min(`${who} h2`);
    lines.push(`| ${who} | ${p.toFixed(1)} | ${h1.toFixed(1)} | ${h2.toFixed(1)} | ${(h1 - p).toFixed(1)} | ${(h2 - p).toFixed(1)} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await stopAll();
}
