// test/proxy/upgrade-hardening.test.ts over TLS (HTTP/1.1 by ALPN, on node:http2's allowHTTP1
// server and on node:https with http2: false): only the allowed upgrade protocols are tunnelled
// (h2c and the rest are served as plain HTTP/1.1, RFC 9110 §7.8), an upgrade carrying a body is
// refused, and a declared-but-unsent upgrade body never swallows another client's request.
import t, { type Test } from 'tap';
import tls from 'node:tls';
import { startProxy } from '../helpers/proxy.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { startRawUpstream, type RawSeen } from '../helpers/raw-upstream.ts';
import { hasTool, makeCertificate } from '../helpers/tls.ts';

const WS_HEADERS = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';

interface Answer {
  head: string;
  socket: tls.TLSSocket;
  /** Everything the proxy sent until it closed the connection. */
  all: Promise<string>;
}

/** Sends raw bytes over TLS (ALPN http/1.1); resolves once a whole response head has arrived. */
function send(port: number, text: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ALPNProtocols: ['http/1.1'], rejectUnauthorized: false });
    let buf = '';
    let settle: (s: string) => void = () => {};
    const all = new Promise<string>((r) => (settle = r));
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      buf += d;
      const end = buf.indexOf('\r\n\r\n');
      if (end !== -1) resolve({ head: buf.slice(0, end), socket, all });
    });
    socket.on('close', () => {
      settle(buf);
      reject(new Error(`closed without a response head: ${JSON.stringify(buf)}`));
    });
    socket.on('error', () => {});
    socket.on('secureConnect', () => socket.write(text));
  });
}

/** A typical app server: a WebSocket on /ws, 403 (keep-alive) for any other request. */
const wsOrigin = (seen: RawSeen) =>
  seen.requestLine === 'GET /ws HTTP/1.1' && seen.headers.upgrade === 'websocket' && seen.headers['sec-websocket-key'] !== undefined
    ? ('upgrade' as const)
    : 'HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\nConnection: keep-alive\r\n\r\nforbidden';

for (const http2 of [true, false]) {
  const server = http2 ? 'node:http2 allowHTTP1' : 'node:https (http2: false)';

  t.test(`${server}: only the websocket token is tunnelled: h2c and others are served as plain HTTP/1.1`, async (t: Test) => {
    if (!hasTool(t, 'openssl', 'openssl')) return;
    const pair = makeCertificate(t.testdir(), 'edge');
    const upstream = await startUpstream(t, 'blue');
    const proxy = await startProxy(t, { blue: [upstream.url], green: [upstream.url], tls: { ...pair, http2 } });
    const table = [
      ['h2c', 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n'],
      ['an unknown protocol', 'Connection: Upgrade\r\nUpgrade: foo/1\r\n'],
      ['WebSocket listed after h2c in a non-GET', 'Connection: Upgrade\r\nUpgrade: h2c, websocket\r\n'],
    ];
    for (const [name, headers] of table) {
      const answer = await send(proxy.port, `POST /x HTTP/1.1\r\nHost: app.example\r\n${headers}Content-Length: 2\r\n\r\nhi`);
      t.match(answer.head, /^HTTP\/1\.1 200/, `${name}: an ordinary answer`);
      answer.socket.destroy();
      const seen = upstream.seen.at(-1)!;
      t.equal(seen.headers.upgrade, undefined, `${name}: no Upgrade upstream`);
      t.equal(seen.headers['http2-settings'], undefined, `${name}: no HTTP2-Settings upstream`);
      t.equal(seen.body, 'hi', `${name}: the body went through the normal request path`);
      t.equal(seen.headers['x-forwarded-proto'], 'https', `${name}: forwarded like any request over TLS`);
    }
    t.equal(upstream.seen.length, table.length, 'one upstream request each, nothing tunnelled');
  });

  t.test(`${server}: an upgrade carrying a body is refused with 400 and never reaches the upstream`, async (t: Test) => {
    if (!hasTool(t, 'openssl', 'openssl')) return;
    const pair = makeCertificate(t.testdir(), 'edge');
    const origin = await startRawUpstream(t, wsOrigin);
    const proxy = await startProxy(t, { blue: [origin.url], green: [origin.url], tls: { ...pair, http2 } });
    const table: [string, string][] = [
      ['Content-Length: 5 with its body', 'Content-Length: 5\r\n\r\nhello'],
      ['Content-Length declared, body unsent', 'Content-Length: 60\r\n\r\n'],
      ['chunked', 'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
    ];
    for (const [name, tail] of table) {
      const answer = await send(proxy.port, `GET /ws HTTP/1.1\r\nHost: app.example\r\n${WS_HEADERS}${tail}`);
      t.match(answer.head, /^HTTP\/1\.1 400/, name);
      t.match(await answer.all, /"message":"an upgrade request must not carry a body"/, name);
    }
    t.same(origin.seen, [], 'nothing reached the upstream');
    t.same(proxy.recorded, [], 'a refused request is not an upstream attempt');
    const ok = await send(proxy.port, `GET /ws HTTP/1.1\r\nHost: app.example\r\n${WS_HEADERS}\r\n`);
    t.match(ok.head, /^HTTP\/1\.1 101/, 'a bodiless WebSocket handshake is tunnelled');
    const echoed = new Promise<string>((r) => ok.socket.once('data', (d) => r(String(d))));
    ok.socket.write('hello');
    t.equal(await echoed, 'echo:hello', 'and relayed both ways over TLS');
    ok.socket.destroy();
  });

  t.test(`${server}: the two-connection desync: a declared-but-unsent upgrade body never swallows the next client`, async (t: Test) => {
    if (!hasTool(t, 'openssl', 'openssl')) return;
    const pair = makeCertificate(t.testdir(), 'edge');
    const origin = await startRawUpstream(t, wsOrigin);
    const proxy = await startProxy(t, { blue: [origin.url], green: [origin.url], tls: { ...pair, http2 } });
    // The attacker: an upgrade that declares a body it never sends, on a path the origin declines.
    const attacker = await send(proxy.port, `GET /private HTTP/1.1\r\nHost: app.example\r\n${WS_HEADERS}Content-Length: 60\r\n\r\n`);
    t.notMatch(attacker.head, /^HTTP\/1\.1 101/, 'the attacker gets no tunnel');
    await attacker.all;
    const victim = await send(proxy.port, `GET /ws HTTP/1.1\r\nHost: app.example\r\n${WS_HEADERS}\r\n`);
    t.match(victim.head, /^HTTP\/1\.1 101/, "the victim's handshake succeeds");
    victim.socket.destroy();
    const lines = origin.seen.map((s) => s.requestLine);
    t.same(lines.filter((l) => l !== 'GET /private HTTP/1.1'), ['GET /ws HTTP/1.1'], 'the origin parsed exactly the requests clients sent, nothing smuggled');
    const ws = origin.seen.find((s) => s.requestLine === 'GET /ws HTTP/1.1')!;
    t.equal(ws.headers['content-length'], undefined, 'no Content-Length on a forwarded upgrade');
    t.equal(ws.headers['x-forwarded-proto'], 'https');
  });
}
