// The plain listener's slow-client defences (test/proxy/slow-clients.test.ts) on a TLS listener:
// a request body that stops arriving (timeouts.clientBodyMs → 408) and a client that stops
// reading (timeouts.sendMs → disconnected), for HTTP/1.1 over TLS and for HTTP/2 streams, with
// real sockets, a real upstream, short real timeouts and bounded waits (no sleeps). Each time:
// what the client got, that the upstream request was cancelled, that the upstream connection is
// free again, and, over h2, that the session goes on serving its other streams.
import t, { type Test } from 'tap';
import http2 from 'node:http2';
import tls from 'node:tls';
import { startProxy } from '../helpers/proxy.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';
import { h2Connect, h2Request, hasTool, makeCertificate } from '../helpers/tls.ts';
import { FLAG, FRAME, RawH2, frame, requestBlock } from '../helpers/h2-raw.ts';

const CHUNK = Buffer.alloc(64 * 1024, 'd');

/** /download?bytes=N streams N bytes with backpressure; others: the default answer. */
function serveDownloads(upstream: Upstream): void {
  upstream.handle((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/download') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return void res.end(`ok ${url.pathname}`);
    }
    let left = Number(url.searchParams.get('bytes') ?? 1 << 20);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': left });
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, CHUNK.length);
        left -= n;
        if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('close', () => (left = 0));
    pump();
  });
}

async function tlsProxy(t: Test, timeouts: { clientBodyMs?: number; sendMs?: number; clientIdleMs?: number }) {
  const pair = makeCertificate(t.testdir(), 'edge');
  const blue = await startUpstream(t, 'blue');
  serveDownloads(blue);
  const proxy = await startProxy(t, { blue: [blue.url], green: [blue.url], timeouts, tls: pair });
  return { blue, proxy };
}

/** HTTP/1.1 over TLS (ALPN http/1.1), bytes as written. */
function h1Connect(port: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ALPNProtocols: ['http/1.1'], rejectUnauthorized: false }, () => resolve(socket));
    socket.once('error', reject);
  });
}

const upstreamFree = (proxy: Awaited<ReturnType<typeof tlsProxy>>['proxy']) => () => proxy.pools.blue.gates[0]!.busy === 0;

t.test('HTTP/1.1 over TLS: a request body that stops arriving gets 408 and its upstream request is cancelled', { timeout: 20_000 }, async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const { blue, proxy } = await tlsProxy(t, { clientBodyMs: 300 });
  const upstreamClosed = new Promise<boolean>((resolve) => blue.server.once('request', (req) => req.once('close', () => resolve(req.complete))));
  const socket = await h1Connect(proxy.port);
  let answer = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (answer += d));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789');
  await closed;
  t.match(answer, /^HTTP\/1\.1 408 /, 'answered 408');
  t.match(answer, /"the request body stopped arriving"/);
  t.equal(await upstreamClosed, false, 'the upstream saw the request end incomplete (cancelled)');
  await waitFor(() => proxy.recorded.length === 1, 'the exchange to be recorded');
  t.equal(proxy.recorded[0]!.outcome, 'client_abort', "recorded as the client's fault");
  await waitFor(upstreamFree(proxy), 'the upstream connection to be free');
});

t.test('HTTP/1.1 over TLS: a request head that never ends (slowloris) gets 408 after headersTimeout, checked every second as on plain HTTP', { timeout: 20_000 }, async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  // headersTimeout is min(30 s, clientIdleMs); node checks it every connectionsCheckingInterval.
  const { blue, proxy } = await tlsProxy(t, { clientIdleMs: 600 });
  const socket = await h1Connect(proxy.port);
  let answer = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (answer += d));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  // A header line every 100 ms (so the 600 ms idle timeout never fires), never the blank line.
  socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n');
  let n = 0;
  const trickle = setInterval(() => socket.write(`X-${n++}: 1\r\n`), 100);
  await closed;
  clearInterval(trickle);
  t.match(answer, /^HTTP\/1\.1 408 /, 'answered 408');
  t.equal(blue.seen.length, 0, 'nothing reached the upstream');
});

t.test('HTTP/1.1 over TLS: a client that stops reading is disconnected after sendMs, freeing the upstream connection', { timeout: 20_000 }, async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const { blue, proxy } = await tlsProxy(t, { sendMs: 300 });
  const upstreamResponseClosed = new Promise<boolean>((resolve) => blue.server.once('request', (_req, res) => res.once('close', () => resolve(res.writableFinished))));
  const socket = await h1Connect(proxy.port);
  socket.on('error', () => {});
  socket.pause(); // never reads
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write('GET /download?bytes=67108864 HTTP/1.1\r\nHost: x\r\n\r\n');
  t.equal(await upstreamResponseClosed, false, "the upstream's answer was cut off, not sent whole");
  socket.resume();
  await closed;
  t.pass("the stalled client's connection was closed");
  await waitFor(upstreamFree(proxy), 'the upstream connection to be free');
  // A well-behaved client on a new connection is served.
  const next = await h1Connect(proxy.port);
  let got = '';
  next.setEncoding('latin1');
  next.on('data', (d: string) => (got += d));
  next.write('GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  await new Promise((r) => next.on('close', r));
  t.match(got, /^HTTP\/1\.1 200 [\s\S]*ok \/after/);
});

t.test('h2: a request body that stops arriving gets 408 on its stream, the upstream request is cancelled, the session goes on', { timeout: 20_000 }, async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const { blue, proxy } = await tlsProxy(t, { clientBodyMs: 300 });
  const upstreamClosed = new Promise<boolean>((resolve) => blue.server.once('request', (req) => req.once('close', () => resolve(req.complete))));
  const session = h2Connect(t, proxy.url);
  const stream = session.request({ ':method': 'POST', ':path': '/upload', 'content-length': '100' }, { endStream: false });
  stream.write('0123456789'); // and never the rest
  const answer = await new Promise<{ status: number; body: string; rstCode: number }>((resolve) => {
    let status = 0;
    let body = '';
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (body += c));
    stream.on('error', () => {});
    stream.on('close', () => resolve({ status, body, rstCode: stream.rstCode ?? -1 }));
  });
  t.equal(answer.status, 408, 'answered 408 on the stream');
  t.match(answer.body, /"the request body stopped arriving"/);
  t.equal(answer.rstCode, http2.constants.NGHTTP2_CANCEL, 'then RST_STREAM(CANCEL): stop sending');
  t.equal(await upstreamClosed, false, 'the upstream saw the request end incomplete (cancelled)');
  await waitFor(() => proxy.recorded.length === 1, 'the exchange to be recorded');
  t.equal(proxy.recorded[0]!.outcome, 'client_abort', "recorded as the client's fault");
  await waitFor(upstreamFree(proxy), 'the upstream connection to be free');
  const after = await h2Request(session, { ':path': '/after' });
  t.equal(after.status, 200, 'the same session goes on');
  t.equal(after.body, 'ok /after');
  // A body sent whole is forwarded whole (the timer stops once the body has arrived).
  const posted = await h2Request(session, { ':method': 'POST', ':path': '/posted', 'content-length': '4' }, 'abcd');
  t.equal(posted.status, 200);
  t.ok(blue.seen.some((s) => s.url === '/posted' && s.body === 'abcd'), 'the upstream got the whole body');
});

t.test('h2: a stream whose client stops reading is reset after sendMs; its upstream connection is freed, the session goes on', { timeout: 20_000 }, async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const { blue, proxy } = await tlsProxy(t, { sendMs: 300 });
  const upstreamResponseClosed = new Promise<boolean>((resolve) => blue.server.once('request', (_req, res) => res.once('close', () => resolve(res.writableFinished))));
  const session = h2Connect(t, proxy.url);
  const stream = session.request({ ':path': '/download?bytes=67108864' });
  stream.on('error', () => {});
  stream.pause(); // never reads: its flow-control window stays shut once full
  const rst = new Promise<number>((resolve) => stream.on('close', () => resolve(stream.rstCode ?? -1)));
  t.equal(await upstreamResponseClosed, false, "the upstream's answer was cut off, not sent whole");
  t.equal(await rst, http2.constants.NGHTTP2_CANCEL, 'the stalled stream was reset (CANCEL)');
  await waitFor(upstreamFree(proxy), 'the upstream connection to be free');
  const after = await h2Request(session, { ':path': '/after' });
  t.equal(after.status, 200, 'the same session goes on');
  t.equal(after.body, 'ok /after');
  // A stream that reads, however its pace, is never cut: 1 MB read in full.
  const whole = session.request({ ':path': '/download?bytes=1048576' });
  let bytes = 0;
  whole.on('data', (c: Buffer) => (bytes += c.length));
  await new Promise((r) => whole.on('end', r));
  t.equal(bytes, 1 << 20, 'a reading stream gets its whole answer');
});

t.test('h2: a client that stops reading its connection altogether has its streams reset after sendMs', { timeout: 20_000 }, async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const { blue, proxy } = await tlsProxy(t, { sendMs: 300 });
  const upstreamResponseClosed = new Promise<boolean>((resolve) => blue.server.once('request', (_req, res) => res.once('close', () => resolve(res.writableFinished))));
  const raw = await RawH2.connect(proxy.url);
  t.teardown(() => raw.close());
  // Windows wide open (SETTINGS_INITIAL_WINDOW_SIZE and the connection window at 2^31-1), so
  // only TCP can hold the answer back; then the socket is never read again.
  const settings = Buffer.alloc(6);
  settings.writeUInt16BE(0x4, 0);
  settings.writeUInt32BE(0x7fffffff, 2);
  const increment = Buffer.alloc(4);
  increment.writeUInt32BE(0x7fffffff - 65535);
  raw.socket.pause();
  raw.send(Buffer.concat([frame(FRAME.SETTINGS, 0, 0, settings), frame(FRAME.WINDOW_UPDATE, 0, 0, increment), frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, requestBlock('/download?bytes=268435456', 'x'))]));
  t.equal(await upstreamResponseClosed, false, "the upstream's answer was cut off, not sent whole");
  await waitFor(upstreamFree(proxy), 'the upstream connection to be free');
  await waitFor(() => proxy.recorded.length === 1, 'the exchange to be recorded');
  t.equal(proxy.recorded[0]!.outcome, 'client_abort', "recorded as the client's fault");
  const other = h2Connect(t, proxy.url);
  t.equal((await h2Request(other, { ':path': '/other' })).status, 200, 'other clients are served');
});
