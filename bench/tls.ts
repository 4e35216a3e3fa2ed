// TLS bench (CONTRACT §8): HTTP/1.1 over TLS (wrk) and HTTP/2 over TLS (h2load), Turnout against
// nginx with the same certificate (ssl + http2) and a minimal node:http2 + undici proxy, rounds
// interleaved so a slow spell of a shared machine hits every contender alike.
//   node bench/tls.ts [--rounds 3] [--seconds 5]
// Needs openssl, wrk, h2load (nghttp2-client) and nginx; prints a markdown table and the ratios.
import { execFileSync, execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
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
const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const ROUNDS = arg('rounds', 3);
const SECONDS = arg('seconds', 5);
const H1_CONNECTIONS = 64;
const H2_CLIENTS = 16;
const H2_STREAMS = 10;
// Every contender gets the same requests: a returning visitor's sticky cookie (as bench/lib/visitors.ts
// does for the main bench), so Turnout routes by it instead of minting a cookie per request.
const COOKIE = 'cookie: turnout_id=bench-visitor-0001';

for (const tool of ['openssl', 'wrk', 'h2load', 'nginx']) {
  try {
    execFileSync('which', [tool], { stdio: 'ignore' });
  } catch {
    process.stderr.write(`bench/tls.ts: ${tool} not installed (bench/setup.sh; h2load is in nghttp2-client)\n`);
    process.exit(2);
  }
}
buildIfStale((l) => process.stderr.write(`${l}\n`));

const dir = mkdtempSync(path.join(tmpdir(), 'turnout-tls-bench-'));
const cert = path.join(dir, 'tls.crt');
const key = path.join(dir, 'tls.key');
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });

async function ready(url: string, proc: Proc): Promise<void> {
  const deadline = Date.now() + 15_000;
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

interface Contender {
  name: string;
  url: string;
  pid: number;
}

async function startTurnoutTls(originUrl: string, green: string): Promise<Contender> {
  const port = await freePort();
  const config = {
    listen: { host: '127.0.0.1', port, tls: { cert, key } },
    admin: { host: '127.0.0.1', port: await freePort(), token: `bench-${randomBytes(12).toString('hex')}` },
    upstreams: { blue: { targets: [originUrl] }, green: { targets: [green] } },
    shutdown: { drainSeconds: 1 },
    state: { store: 'memory' },
  };
  const file = path.join(dir, 'turnout.yaml');
  writeFileSync(file, YAML.stringify(config));
  const proc = startProcess({ name: 'turnout', command: NODE, args: [TURNOUT_CLI, 'serve', '--config', file], logFile: path.join(dir, 'turnout.log') });
  const url = `https://127.0.0.1:${port}`;
  await ready(url, proc);
  return { name: 'Turnout', url, pid: proc.pid };
}

async function startNodeProxy(originUrl: string): Promise<Contender> {
  const proc = startProcess({ name: 'node-h2', command: NODE, args: [path.join(BENCH_DIR, 'contenders', 'h2-undici-proxy.ts'), originUrl, cert, key], logFile: path.join(dir, 'node-h2.log') });
  const port = Number(await waitForLine(proc, /LISTENING (\d+)/));
  const url = `https://127.0.0.1:${port}`;
  await ready(url, proc);
  return { name: 'node:http2 + undici', url, pid: proc.pid };
}

async function startNginxTls(originUrl: string): Promise<Contender> {
  const port = await freePort();
  const d = path.join(dir, 'nginx');
  mkdirSync(d, { recursive: true });
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  // nginx 1.22 (Debian 12): `listen … ssl http2` (the `http2 on;` directive is 1.25.1+).
  writeFileSync(path.join(d, 'nginx.conf'), `${user}worker_processes 1;
daemon off;
pid ${d}/nginx.pid;
error_log ${d}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${d}/client_body; proxy_temp_path ${d}/proxy; fastcgi_temp_path ${d}/fastcgi; uwsgi_temp_path ${d}/uwsgi; scgi_temp_path ${d}/scgi;
  keepalive_requests 1000000;
  http2_max_requests 1000000;
  upstream origin { server ${new URL(originUrl).host}; keepalive 256; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    ssl_protocols TLSv1.2 TLSv1.3;
    http2_max_concurrent_streams 100;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https;
      proxy_request_buffering off;
      proxy_buffering off;
    }
  }
}
`);
  const proc = startProcess({ name: 'nginx', command: 'nginx', args: ['-p', d, '-c', path.join(d, 'nginx.conf'), '-e', path.join(d, 'error.log')], logFile: path.join(d, 'stdout.log') });
  const url = `https://127.0.0.1:${port}`;
  await ready(url, proc);
  return { name: 'nginx (1 worker)', url, pid: proc.pid };
}

/** Requests per second, and the proxy's CPU µs per request (robust to a shared machine's slow spells). */
interface Measured {
  rps: number;
  cpuUs: number;
}

async function measured(c: Contender, load: (url: string) => Promise<{ rps: number; requests: number }>): Promise<Measured> {
  const pids = processTree(c.pid);
  const before = cpuSeconds(pids);
  const { rps, requests } = await load(c.url);
  return { rps, cpuUs: ((cpuSeconds(pids) - before) * 1e6) / requests };
}

async function wrk(url: string): Promise<{ rps: number; requests: number }> {
  const { stdout } = await run('wrk', ['-t', '1', '-c', String(H1_CONNECTIONS), '-d', `${SECONDS}s`, '-H', COOKIE, `${url}/`], { maxBuffer: 1 << 20 });
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN), requests: Number(/(\d+) requests in/.exec(stdout)?.[1] ?? NaN) };
}

async function h2load(url: string): Promise<{ rps: number; requests: number }> {
  const { stdout } = await run('h2load', ['-D', String(SECONDS), '-c', String(H2_CLIENTS), '-m', String(H2_STREAMS), '-t', '1', '--warm-up-time=1', '-H', COOKIE, `${url}/`], { maxBuffer: 1 << 20 });
  const ok = /requests: .* (\d+) succeeded/.exec(stdout);
  if (ok && /(\d+) failed/.exec(stdout)?.[1] !== '0') process.stderr.write(`h2load failures against ${url}:\n${stdout}\n`);
  // The warm-up second is not in `requests: N total`, nor its CPU in the delta: close enough.
  return { rps: Number(/finished in [\d.]+s, ([\d.]+) req\/s/.exec(stdout)?.[1] ?? NaN), requests: Number(/requests: (\d+) total/.exec(stdout)?.[1] ?? NaN) };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const ratio = (a: number[], b: number[]) => {
  const perRound = a.map((v, i) => v / b[i]!);
  return `${median(perRound).toFixed(2)}× (rounds ${perRound.map((r) => r.toFixed(2)).join(', ')})`;
};

try {
  const origin = await startOrigin(dir);
  const contenders = [await startTurnoutTls(origin.blue, origin.green), await startNodeProxy(origin.blue), await startNginxTls(origin.blue)];
  type Series = { h1: number[]; h2: number[]; h1Cpu: number[]; h2Cpu: number[] };
  const results = new Map<string, Series>(contenders.map((c) => [c.name, { h1: [], h2: [], h1Cpu: [], h2Cpu: [] }]));
  // Round 0 warms every contender up (JIT, pools, TLS session caches) and is not counted.
  for (let round = 0; round <= ROUNDS; round++) {
    for (const c of contenders) {
      const h1 = await measured(c, wrk);
      const h2 = await measured(c, h2load);
      process.stderr.write(`round ${round}: ${c.name}: TLS h1 ${h1.rps.toFixed(0)} req/s ${h1.cpuUs.toFixed(0)} µs/req, h2 ${h2.rps.toFixed(0)} req/s ${h2.cpuUs.toFixed(0)} µs/req\n`);
      if (round === 0) continue;
      const r = results.get(c.name)!;
      r.h1.push(h1.rps);
      r.h2.push(h2.rps);
      r.h1Cpu.push(h1.cpuUs);
      r.h2Cpu.push(h2.cpuUs);
    }
  }
  const t = results.get('Turnout')!;
  const n = results.get('node:http2 + undici')!;
  const x = results.get('nginx (1 worker)')!;
  const row = (name: string, r: Series) => `| ${name} | ${median(r.h1).toFixed(0)} | ${median(r.h1Cpu).toFixed(0)} | ${median(r.h2).toFixed(0)} | ${median(r.h2Cpu).toFixed(0)} |`;
  process.stdout.write(
    [
      `TLS bench: ${ROUNDS} interleaved rounds × ${SECONDS} s; wrk -t1 -c${H1_CONNECTIONS} (HTTP/1.1 over TLS), h2load -t1 -c${H2_CLIENTS} -m${H2_STREAMS} (h2); medians`,
      '',
      '| contender | TLS HTTP/1.1 req/s | CPU µs/req | h2 req/s | CPU µs/req |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...contenders.map((c) => row(c.name, results.get(c.name)!)),
      '',
      // Ratios per round (the contenders ran back to back), then the median, as bench/run.ts does.
      `Turnout / node:http2+undici: TLS h1 ${ratio(t.h1, n.h1)}, h2 ${ratio(t.h2, n.h2)} (target ≥ 0.9×)`,
      `Turnout / nginx: TLS h1 ${ratio(t.h1, x.h1)}, h2 ${ratio(t.h2, x.h2)}`,
      // CPU per request: the node proxy's over Turnout's, so ≥ 0.9 means within 10%.
      `CPU per request, node:http2+undici / Turnout: TLS h1 ${ratio(n.h1Cpu, t.h1Cpu)}, h2 ${ratio(n.h2Cpu, t.h2Cpu)}`,
      // The least-contended round of each: on a shared machine the minimum is the cost itself.
      `Lowest CPU per request, node:http2+undici / Turnout: TLS h1 ${(Math.min(...n.h1Cpu) / Math.min(...t.h1Cpu)).toFixed(2)}× (${Math.min(...n.h1Cpu).toFixed(0)} / ${Math.min(...t.h1Cpu).toFixed(0)} µs), h2 ${(Math.min(...n.h2Cpu) / Math.min(...t.h2Cpu)).toFixed(2)}× (${Math.min(...n.h2Cpu).toFixed(0)} / ${Math.min(...t.h2Cpu).toFixed(0)} µs)`,
      '',
    ].join('\n'),
  );
} finally {
  await stopAll();
}
