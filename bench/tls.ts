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
  return { name: 'Turnout', url };
}

async function startNodeProxy(originUrl: string): Promise<Contender> {
  const proc = startProcess({ name: 'node-h2', command: NODE, args: [path.join(BENCH_DIR, 'contenders', 'h2-undici-proxy.ts'), originUrl, cert, key], logFile: path.join(dir, 'node-h2.log') });
  const port = Number(await waitForLine(proc, /LISTENING (\d+)/));
  const url = `https://127.0.0.1:${port}`;
  await ready(url, proc);
  return { name: 'node:http2 + undici', url };
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
  return { name: 'nginx (1 worker)', url };
}

async function wrk(url: string): Promise<number> {
  const { stdout } = await run('wrk', ['-t', '1', '-c', String(H1_CONNECTIONS), '-d', `${SECONDS}s`, `${url}/`], { maxBuffer: 1 << 20 });
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN);
}

async function h2load(url: string): Promise<number> {
  const { stdout } = await run('h2load', ['-D', String(SECONDS), '-c', String(H2_CLIENTS), '-m', String(H2_STREAMS), '-t', '1', '--warm-up-time=1', `${url}/`], { maxBuffer: 1 << 20 });
  const ok = /requests: .* (\d+) succeeded/.exec(stdout);
  if (ok && /(\d+) failed/.exec(stdout)?.[1] !== '0') process.stderr.write(`h2load failures against ${url}:\n${stdout}\n`);
  return Number(/finished in [\d.]+s, ([\d.]+) req\/s/.exec(stdout)?.[1] ?? NaN);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

try {
  const origin = await startOrigin(dir);
  const contenders = [await startTurnoutTls(origin.blue, origin.green), await startNodeProxy(origin.blue), await startNginxTls(origin.blue)];
  const results = new Map<string, { h1: number[]; h2: number[] }>(contenders.map((c) => [c.name, { h1: [], h2: [] }]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const c of contenders) {
      const h1 = await wrk(c.url);
      const h2 = await h2load(c.url);
      results.get(c.name)!.h1.push(h1);
      results.get(c.name)!.h2.push(h2);
      process.stderr.write(`round ${round}: ${c.name}: TLS h1 ${h1.toFixed(0)} req/s, h2 ${h2.toFixed(0)} req/s\n`);
    }
  }
  const t = results.get('Turnout')!;
  const n = results.get('node:http2 + undici')!;
  const x = results.get('nginx (1 worker)')!;
  const row = (name: string, r: { h1: number[]; h2: number[] }) => `| ${name} | ${median(r.h1).toFixed(0)} | ${median(r.h2).toFixed(0)} |`;
  process.stdout.write(
    [
      `TLS bench: ${ROUNDS} interleaved rounds × ${SECONDS} s; wrk -t1 -c${H1_CONNECTIONS} (HTTP/1.1 over TLS), h2load -t1 -c${H2_CLIENTS} -m${H2_STREAMS} (h2); medians`,
      '',
      '| contender | TLS HTTP/1.1 req/s | h2 req/s |',
      '| --- | ---: | ---: |',
      ...contenders.map((c) => row(c.name, results.get(c.name)!)),
      '',
      `Turnout / node:http2+undici: TLS h1 ${(median(t.h1) / median(n.h1)).toFixed(2)}×, h2 ${(median(t.h2) / median(n.h2)).toFixed(2)}× (target ≥ 0.9×)`,
      `Turnout / nginx: TLS h1 ${(median(t.h1) / median(x.h1)).toFixed(2)}×, h2 ${(median(t.h2) / median(x.h2)).toFixed(2)}×`,
      '',
    ].join('\n'),
  );
} finally {
  await stopAll();
}
