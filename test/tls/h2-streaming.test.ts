// Bodies over HTTP/2 stream both ways with bounded memory (100 MB up, 100 MB down), and a client
// that resets its stream mid-download cancels the upstream request (CONTRACT §3 and §8).
import t from 'tap';
import http2 from 'node:http2';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { startApp } from '../helpers/app.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';
import { h2Connect, h2Request, hasTool, makeCertificate } from '../helpers/tls.ts';

const MB = 1024 * 1024;
const SIZE = 100 * MB;
const chunk = Buffer.alloc(64 * 1024, 'x');

function generator(total: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      sent += chunk.length;
      this.push(chunk);
    },
  });
}

t.test('100 MB upload and download over one h2 session with bounded RSS', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const pair = makeCertificate(t.testdir(), 'edge');
  const blue = await startUpstream(t, 'blue', { keepBody: false });
  blue.handle((req, res, seen) => {
    if (req.method === 'POST') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ received: seen.bodyBytes, te: req.headers['transfer-encoding'] ?? null }));
    }
    res.writeHead(200, { 'content-length': String(SIZE) });
    generator(SIZE).pipe(res);
  });
  const child = spawn(process.execPath, ['test/helpers/tls-app-child.ts', blue.url, pair.cert, pair.key], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  const proxy = (JSON.parse(line) as { proxy: string }).proxy;
  const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024;
  const session = h2Connect(t, proxy);
  await h2Request(session, { ':path': '/warm', ':method': 'POST' }, 'warm-up');
  const before = rss();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rss())), 10);
  t.teardown(() => clearInterval(sampler));

  const up = await new Promise<string>((resolve, reject) => {
    const stream = session.request({ ':path': '/upload', ':method': 'POST', 'content-type': 'application/octet-stream' });
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (body += c));
    stream.on('end', () => resolve(body));
    stream.on('error', reject);
    generator(SIZE).pipe(stream);
  });
  t.same(JSON.parse(up), { received: SIZE, te: 'chunked' }, 'the upstream received every byte, chunked');

  const received = await new Promise<number>((resolve, reject) => {
    const stream = session.request({ ':path': '/download' });
    let n = 0;
    stream.on('data', (c: Buffer) => (n += c.length));
    stream.on('end', () => resolve(n));
    stream.on('error', reject);
  });
  t.equal(received, SIZE, 'the client received every byte');
  clearInterval(sampler);
  const growth = (peak - before) / MB;
  t.ok(growth < 100, `RSS grew ${growth.toFixed(1)} MB`);
});

t.test('a client stream reset mid-download cancels the upstream request; the session goes on', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const pair = makeCertificate(t.testdir(), 'edge');
  const blue = await startUpstream(t, 'blue');
  let upstreamClosed = false;
  let upstreamFinished = false;
  blue.handle((req, res) => {
    if (req.url !== '/endless') return res.end('ok');
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    // Writes while the proxy reads: never ends on its own.
    const pump = () => {
      while (res.write(chunk));
      res.once('drain', pump);
    };
    pump();
    res.on('close', () => (upstreamClosed = true));
    res.on('finish', () => (upstreamFinished = true));
  });
  const app = await startApp(t, { listen: { host: '127.0.0.1', port: 0, tls: pair }, upstreams: { blue: { targets: [blue.url] }, green: { targets: [blue.url] } } });
  const session = h2Connect(t, app.proxy);
  const stream = session.request({ ':path': '/endless' });
  let got = 0;
  await new Promise<void>((resolve) => {
    stream.on('data', (c: Buffer) => {
      got += c.length;
      if (got > 1 * MB) resolve();
    });
  });
  stream.close(http2.constants.NGHTTP2_CANCEL);
  await waitFor(() => upstreamClosed, 'the upstream request to be cancelled');
  t.notOk(upstreamFinished, 'the upstream never finished its answer: it was cut off');
  t.ok(got > MB, `the client read ${(got / MB).toFixed(1)} MB before resetting`);
  t.equal((await h2Request(session, { ':path': '/next' })).status, 200, 'the same session serves the next request');
  await waitFor(async () => {
    const r = await app.api('/api/v1/upstreams');
    const blueStats = ((await r.json()) as { colours: { blue: { inFlight: number; errors: number; requests: number } } }).colours.blue;
    return blueStats.inFlight === 0 && blueStats.requests >= 2;
  }, 'the reset request to finish in the telemetry');
  const r = (await (await app.api('/api/v1/upstreams')).json()) as { colours: { blue: { errors: number } } };
  t.equal(r.colours.blue.errors, 0, 'a client reset does not count against the colour');
});

t.test('a stream reset before the upstream answers cancels the upstream request and frees its connection', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const pair = makeCertificate(t.testdir(), 'edge');
  const blue = await startUpstream(t, 'blue');
  const aborted: string[] = [];
  blue.handle((req, res) => {
    if (!req.url!.startsWith('/slow')) return res.end('ok');
    res.on('close', () => {
      if (!res.writableFinished) aborted.push(req.url!);
    });
  });
  const app = await startApp(t, { listen: { host: '127.0.0.1', port: 0, tls: pair }, upstreams: { blue: { targets: [blue.url] }, green: { targets: [blue.url] } } });
  const session = h2Connect(t, app.proxy);
  const streams = Array.from({ length: 20 }, (_, i) => {
    const s = session.request({ ':path': `/slow/${i}` });
    s.on('error', () => {});
    return s;
  });
  await waitFor(() => blue.seen.filter((s) => s.url.startsWith('/slow/')).length === 20, 'the upstream to see 20 requests');
  for (const s of streams) s.close(http2.constants.NGHTTP2_CANCEL);
  await waitFor(() => aborted.length === 20, 'all 20 upstream requests to be cancelled');
  t.equal(aborted.length, 20, 'every upstream request was cancelled');
  await waitFor(async () => {
    const r = (await (await app.api('/api/v1/upstreams')).json()) as { colours: { blue: { inFlight: number } } };
    return r.colours.blue.inFlight === 0;
  }, 'nothing left in flight');
  t.equal((await h2Request(session, { ':path': '/next' })).status, 200);
});
