// TLS listeners (CONTRACT §8): HTTPS and HTTP/2 on one port (ALPN), the same routing decision as
// HTTP/1.1, x-forwarded-proto https, TLS 1.2 minimum, the admin listener over TLS, curl --http2
// and nghttp as real clients.
import t, { type Test } from 'tap';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startApp } from '../helpers/app.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';
import { h2Connect, h2Request, hasTool, makeCertificate } from '../helpers/tls.ts';

const run = promisify(execFile);

async function tlsApp(t: Test, extra: Record<string, unknown> = {}) {
  const dir = t.testdir();
  const pair = makeCertificate(dir, 'edge');
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  const app = await startApp(t, {
    listen: { host: '127.0.0.1', port: 0, tls: pair },
    preview: { host: '127.0.0.1', port: 0, tls: pair },
    upstreams: { blue: { targets: [blue.url] }, green: { targets: [green.url] } },
    ...extra,
  });
  return { app, blue, green, pair, dir };
}

function httpsGet(url: string, options: https.RequestOptions = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { rejectUnauthorized: false, agent: false, ...options }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, alpn: (res.socket as tls.TLSSocket).alpnProtocol }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('one port: HTTP/1.1 over TLS and h2 by ALPN, routed like plain HTTP, x-forwarded-proto https', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const { app, blue, green } = await tlsApp(t);
  t.match(app.proxy, /^https:\/\/127\.0\.0\.1:\d+$/, 'the listener says https');

  const h1 = await httpsGet(`${app.proxy}/one?q=1`);
  t.equal(h1.status, 200);
  t.equal(h1.alpn, false, 'a client offering no ALPN gets HTTP/1.1');
  t.equal(h1.headers['x-turnout-colour'], 'blue');
  t.match(String(h1.headers['set-cookie']), /^turnout_id=[0-9a-f-]{36}; Path=\/; HttpOnly; SameSite=Lax$/);
  const seen1 = blue.seen.at(-1)!;
  t.equal(seen1.url, '/one?q=1');
  t.equal(seen1.headers['x-forwarded-proto'], 'https', 'x-forwarded-proto https from a TLS listener');
  t.equal(seen1.headers.host, new URL(app.proxy).host);

  const session = h2Connect(t, app.proxy);
  const h2 = await h2Request(session, { ':path': '/two?x=%2F', 'x-turnout-colour': 'green', te: 'trailers' });
  t.equal(h2.status, 200);
  t.equal(h2.headers['x-turnout-colour'], 'green', 'the override header works over h2');
  const seen2 = green.seen.at(-1)!;
  t.equal(seen2.url, '/two?x=%2F', 'path and query verbatim');
  t.equal(seen2.headers.host, new URL(app.proxy).host, ':authority became Host (RFC 9113 §8.3.1)');
  t.equal(seen2.headers['x-forwarded-proto'], 'https');
  t.equal(seen2.headers['x-forwarded-host'], new URL(app.proxy).host);
  t.notOk(Object.keys(seen2.headers).some((n) => n.startsWith(':')), 'no pseudo-header reached the upstream');
  t.equal(seen2.headers.te, undefined, 'te: trailers is this hop’s');
  t.equal((session.socket as tls.TLSSocket).alpnProtocol, 'h2');

  // Preview over TLS: the idle colour.
  const p = await h2Request(h2Connect(t, app.preview!), { ':path': '/p' });
  t.equal(p.headers['x-turnout-colour'], 'green', 'the preview listener sends h2 to the idle colour');
});

t.test('routing and stickiness over one h2 session match HTTP/1.1', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const { app, blue, green } = await tlsApp(t);
  const put = await app.api('/api/v1/canary', { method: 'PUT', body: JSON.stringify({ weight: 50 }) });
  t.equal(put.status, 200);
  const session = h2Connect(t, app.proxy);
  // A minted cookie keeps its client on one colour, and the colour is the one HTTP/1.1 gets.
  const first = await h2Request(session, { ':path': '/' });
  const cookie = String(first.headers['set-cookie']).split(';')[0]!;
  const colour = first.headers['x-turnout-colour'];
  for (let i = 0; i < 20; i++) {
    const again = await h2Request(session, { ':path': `/${i}`, cookie });
    t.equal(again.headers['x-turnout-colour'], colour);
    t.equal(again.headers['set-cookie'], undefined, 'no new cookie once the client has one');
  }
  const h1 = await httpsGet(`${app.proxy}/`, { headers: { cookie } });
  t.equal(h1.headers['x-turnout-colour'], colour, 'HTTP/1.1 with the same cookie lands on the same colour');
  // Cookies split over several h2 fields (RFC 9113 §8.2.3) are joined for the HTTP/1.1 hop.
  const split = await h2Request(session, { ':path': '/split', cookie: ['other=1', cookie] });
  t.equal(split.headers['x-turnout-colour'], colour);
  const upstream = colour === 'blue' ? blue : green;
  t.equal(upstream.seen.at(-1)!.headers.cookie, `other=1; ${cookie}`);
  // Many keys over one session split roughly by the weight; each key's colour is the h1 one.
  let toGreen = 0;
  for (let i = 0; i < 40; i++) {
    const c = `turnout_id=key-${i}`;
    const [a, b] = await Promise.all([h2Request(session, { ':path': '/', cookie: c }), httpsGet(`${app.proxy}/`, { headers: { cookie: c } })]);
    t.equal(a.headers['x-turnout-colour'], b.headers['x-turnout-colour'], `key-${i}: h2 and h1 agree`);
    if (a.headers['x-turnout-colour'] === 'green') toGreen++;
  }
  t.ok(toGreen > 5 && toGreen < 35, `${toGreen}/40 keys on the canary at 50%`);
});

t.test('100 concurrent streams on one session all get their own answer', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const { app, blue } = await tlsApp(t);
  const session = h2Connect(t, app.proxy);
  const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => h2Request(session, { ':path': `/s/${i}` })));
  t.same(answers.map((a) => a.status), Array(100).fill(200));
  t.same(answers.map((a) => JSON.parse(a.body).path), Array.from({ length: 100 }, (_, i) => `/s/${i}`), 'each stream got its own answer');
  t.equal(blue.seen.filter((s) => s.url.startsWith('/s/')).length, 100, 'the upstream saw 100 requests');
  const settings = session.remoteSettings;
  t.equal(settings.maxConcurrentStreams, 100, 'the server advertises 100 concurrent streams');
});

t.test('h2 request bodies with and without content-length reach the upstream whole', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const { app, blue } = await tlsApp(t);
  const session = h2Connect(t, app.proxy);
  const a = await h2Request(session, { ':path': '/len', ':method': 'POST', 'content-length': '5' }, 'hello');
  t.equal(a.status, 200);
  t.equal(blue.seen.at(-1)!.body, 'hello');
  t.equal(blue.seen.at(-1)!.headers['content-length'], '5');
  const b = await h2Request(session, { ':path': '/nolen', ':method': 'POST' }, 'streamed body');
  t.equal(b.status, 200);
  t.equal(blue.seen.at(-1)!.body, 'streamed body', 'no content-length: forwarded chunked');
  t.equal(blue.seen.at(-1)!.headers['transfer-encoding'], 'chunked');
});

t.test('upstream answers HTTP/2 cannot carry as is: repeated single-value fields, hop-by-hop fields', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const { app, blue } = await tlsApp(t);
  blue.handle((_req, res) => {
    res.writeHead(200, [
      ['content-type', 'text/plain'], ['etag', '"a"'], ['etag', '"b"'], ['x-many', '1'], ['x-many', '2'],
      ['connection', 'x-secret'], ['x-secret', 's'], ['keep-alive', 'timeout=5'],
    ].flat());
    res.end('ok');
  });
  const r = await h2Request(h2Connect(t, app.proxy), { ':path': '/' });
  t.equal(r.status, 200);
  t.equal(r.body, 'ok');
  t.equal(r.headers.etag, '"a"', 'the first of a repeated single-value field');
  t.equal(r.headers['x-many'], '1, 2', 'list fields keep every value');
  t.equal(r.headers['x-secret'], undefined, 'fields named by Connection are dropped');
  t.equal(r.headers['keep-alive'], undefined);
});

t.test('refusals and gateway errors over h2: 431, 400, 502 with the JSON body', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const { app, blue } = await tlsApp(t);
  const session = h2Connect(t, app.proxy);
  const many: Record<string, string> = { ':path': '/' };
  for (let i = 0; i < 101; i++) many[`x-h-${i}`] = 'v';
  const tooMany = await h2Request(session, many);
  t.equal(tooMany.status, 431, 'more than proxy.maxHeaders fields → 431');
  const fine: Record<string, string> = { ':path': '/' };
  for (let i = 0; i < 99; i++) fine[`x-h-${i}`] = 'v';
  t.equal((await h2Request(session, fine)).status, 200, '99 fields and the pseudo-headers pass, as over HTTP/1.1');
  const dots = await h2Request(session, { ':path': '/a/%2e%2e/b' });
  t.equal(dots.status, 400);
  await blue.close();
  const gone = await h2Request(session, { ':path': '/' });
  t.equal(gone.status, 502);
  t.same(JSON.parse(gone.body), { statusCode: 502, error: 'Bad Gateway', message: JSON.parse(gone.body).message, colour: 'blue' });
  t.notMatch(gone.body, /127\.0\.0\.1/, 'no internal address');
  t.equal((await h2Request(session, { ':path': '/' })).status >= 500, true, 'the session still serves after errors');
});

t.test('TLS 1.2 is the minimum and renegotiation is refused', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const { app } = await tlsApp(t);
  const { port } = new URL(app.proxy);
  const old = await new Promise<string>((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port: Number(port), rejectUnauthorized: false, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' });
    s.on('secureConnect', () => resolve(`connected ${s.getProtocol()}`));
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
  t.not(old.startsWith('connected'), true, `TLS 1.1 is refused (${old})`);
  const v12 = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: Number(port), rejectUnauthorized: false, maxVersion: 'TLSv1.2' }, () => resolve(s));
    s.on('error', reject);
  });
  t.equal(v12.getProtocol(), 'TLSv1.2');
  const renegotiated = await new Promise<Error | null>((resolve) => {
    const ok = v12.renegotiate({ rejectUnauthorized: false }, (err) => resolve(err ?? null));
    if (!ok) resolve(new Error('renegotiate refused locally'));
    v12.once('error', (e) => resolve(e));
    v12.once('close', () => resolve(new Error('closed')));
  });
  t.ok(renegotiated instanceof Error, `renegotiation fails (${renegotiated?.message})`);
  v12.destroy();
});

t.test('admin over TLS (h2 and HTTP/1.1)', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const dir = t.testdir();
  const pair = makeCertificate(dir, 'admin');
  const blue = await startUpstream(t, 'blue');
  const app = await startApp(t, {
    admin: { host: '127.0.0.1', port: 0, token: 'test-token-0123456789abcdef', tls: pair },
    upstreams: { blue: { targets: [blue.url] }, green: { targets: [blue.url] } },
  });
  t.match(app.admin, /^https:/);
  const h1 = await httpsGet(`${app.admin}/healthz`);
  t.equal(h1.status, 200);
  const session = h2Connect(t, app.admin);
  const state = await h2Request(session, { ':path': '/api/v1/state', authorization: 'Bearer test-token-0123456789abcdef' });
  t.equal(state.status, 200);
  t.equal(JSON.parse(state.body).active, 'blue');
  t.equal((await h2Request(session, { ':path': '/api/v1/state' })).status, 401);
});

t.test('curl --http2 -k reaches the same colour as HTTP/1.1', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl') || !hasTool(t, 'curl', 'curl')) return;
  const { app, green } = await tlsApp(t);
  const { stdout } = await run('curl', ['-sk', '--http2', '-D', '-', '-H', 'x-turnout-colour: green', `${app.proxy}/curl`]);
  t.match(stdout, /^HTTP\/2 200/);
  t.match(stdout, /x-turnout-colour: green/);
  t.equal(green.seen.at(-1)!.url, '/curl');
  t.equal(green.seen.at(-1)!.headers['user-agent']?.startsWith('curl/'), true);
  const h1 = await run('curl', ['-sk', '--http1.1', '-D', '-', '-o', '/dev/null', `${app.proxy}/curl`]);
  t.match(h1.stdout, /^HTTP\/1\.1 200/);
});

t.test('nghttp: several streams on one connection', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl') || !hasTool(t, 'nghttp', 'nghttp2-client')) return;
  const { app, blue } = await tlsApp(t);
  const { stdout } = await run('nghttp', ['-ns', '-m', '10', `${app.proxy}/ng`]);
  t.match(stdout, /responseEnd/);
  t.equal(blue.seen.filter((s) => s.url === '/ng').length, 10, 'ten streams reached the upstream');
});

t.test('a WebSocket upgrade over TLS (HTTP/1.1 by ALPN) is routed and relayed, x-forwarded-proto https', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const pair = makeCertificate(t.testdir(), 'edge');
  const seen: Record<string, unknown>[] = [];
  const upstream = http.createServer((_req, res) => res.end('plain'));
  upstream.on('upgrade', (req, socket: import('node:net').Socket) => {
    seen.push(req.headers);
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.on('data', (d) => socket.write(`echo:${d.toString()}`));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    upstream.closeAllConnections();
    upstream.close();
  });
  const target = `http://127.0.0.1:${(upstream.address() as import('node:net').AddressInfo).port}`;
  const app = await startApp(t, { listen: { host: '127.0.0.1', port: 0, tls: pair }, upstreams: { blue: { targets: [target] }, green: { targets: [target] } } });
  const { port } = new URL(app.proxy);
  const socket = tls.connect({ host: '127.0.0.1', port: Number(port), rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
  t.teardown(() => socket.destroy());
  socket.setEncoding('latin1');
  let buf = '';
  socket.on('data', (d: string) => (buf += d));
  socket.write('GET /ws HTTP/1.1\r\nHost: app.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  await waitFor(() => buf.includes('\r\n\r\n'), 'the 101');
  t.match(buf, /^HTTP\/1\.1 101/);
  t.match(buf, /x-turnout-colour: blue/i);
  socket.write('ping');
  await waitFor(() => buf.includes('echo:ping'), 'the echo');
  t.equal(seen[0]!['x-forwarded-proto'], 'https');
  t.equal(seen[0]!.host, 'app.example');
});

t.test('http2: false serves HTTP/1.1 over TLS only (ALPN offers http/1.1)', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const pair = makeCertificate(t.testdir(), 'edge');
  const blue = await startUpstream(t, 'blue');
  const app = await startApp(t, { listen: { host: '127.0.0.1', port: 0, tls: pair, http2: false }, upstreams: { blue: { targets: [blue.url] }, green: { targets: [blue.url] } } });
  const h1 = await httpsGet(`${app.proxy}/h1`);
  t.equal(h1.status, 200);
  t.equal(blue.seen.at(-1)!.headers['x-forwarded-proto'], 'https');
  const { port } = new URL(app.proxy);
  const alpn = await new Promise<string | false | null>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: Number(port), rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'] }, () => {
      resolve(s.alpnProtocol);
      s.destroy();
    });
    s.on('error', reject);
  });
  t.not(alpn, 'h2', `no h2 offered (negotiated: ${alpn})`);
});

t.test('an idle h2 session is closed after timeouts.clientIdleMs', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const pair = makeCertificate(t.testdir(), 'edge');
  const blue = await startUpstream(t, 'blue');
  const app = await startApp(t, {
    listen: { host: '127.0.0.1', port: 0, tls: pair },
    timeouts: { clientIdleMs: 200 },
    upstreams: { blue: { targets: [blue.url] }, green: { targets: [blue.url] } },
  });
  const session = h2Connect(t, app.proxy);
  t.equal((await h2Request(session, { ':path': '/' })).status, 200);
  let closed = false;
  session.on('close', () => (closed = true));
  await waitFor(() => closed, 'the idle session to be closed by the server');
  t.ok(closed, 'the server closed the idle session');
});

t.test('shutdown drains an in-flight h2 request (GOAWAY), then closes', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const pair = makeCertificate(t.testdir(), 'edge');
  const blue = await startUpstream(t, 'blue');
  let release: () => void = () => {};
  blue.handle((req, res) => {
    if (req.url !== '/held') return res.end('ok');
    release = () => res.end('finished');
  });
  const app = await startApp(t, { listen: { host: '127.0.0.1', port: 0, tls: pair }, upstreams: { blue: { targets: [blue.url] }, green: { targets: [blue.url] } } });
  const session = h2Connect(t, app.proxy);
  let goaway = false;
  session.on('goaway', () => (goaway = true));
  const held = h2Request(session, { ':path': '/held' });
  await waitFor(() => blue.seen.some((s) => s.url === '/held'), 'the request to reach the upstream');
  const closing = app.app.close();
  await waitFor(() => goaway, 'GOAWAY on the open session');
  release();
  const answer = await held;
  t.equal(answer.status, 200);
  t.equal(answer.body, 'finished', 'the in-flight request finished');
  await closing;
  t.notOk(app.app.proxy!.listening, 'the listener is closed');
});
