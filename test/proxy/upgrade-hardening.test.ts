// Upgrade hardening (issue 12, item 4): an upgrade socket is never reused, an upgrade carrying a
// body is refused, only `websocket` is tunnelled, connectMs is honoured, IPv6 and https targets work.
import t from 'tap';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { startProxy } from '../helpers/proxy.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { startRawUpstream, type RawSeen } from '../helpers/raw-upstream.ts';
import { blackholePort, pythonSkip } from '../helpers/blackhole.ts';

const WS_HEADERS = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';

interface Answer {
  head: string;
  socket: net.Socket;
  /** Everything the proxy sent until it closed the connection. */
  all: Promise<string>;
}

/** Sends raw bytes; resolves once a whole response head has arrived. */
function send(port: number, text: string, host = '127.0.0.1'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
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
    socket.write(text);
  });
}

/** A typical app server: a WebSocket on /ws, 403 (keep-alive) for any other request. */
const wsOrigin = (seen: RawSeen) =>
  seen.requestLine === 'GET /ws HTTP/1.1' && seen.headers.upgrade === 'websocket' && seen.headers['sec-websocket-key'] !== undefined
    ? ('upgrade' as const)
    : 'HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\nConnection: keep-alive\r\n\r\nforbidden';

t.test('the two-connection desync: a declared-but-unsent upgrade body never swallows the next client', async (t) => {
  const origin = await startRawUpstream(t, wsOrigin);
  const proxy = await startProxy(t, { blue: [origin.url], green: [origin.url] });

  // The attacker: an upgrade that declares a body it never sends, on a path the origin declines.
  const attacker = await send(proxy.port, `GET /private HTTP/1.1\r\nHost: app.example\r\n${WS_HEADERS}Content-Length: 60\r\n\r\n`);
  t.notMatch(attacker.head, /^HTTP\/1\.1 101/, 'the attacker gets no tunnel');
  await attacker.all;

  // The victim: a plain WebSocket handshake on another connection.
  const victim = await send(proxy.port, `GET /ws HTTP/1.1\r\nHost: app.example\r\n${WS_HEADERS}\r\n`);
  t.match(victim.head, /^HTTP\/1\.1 101/, "the victim's handshake succeeds");
  const echoed = new Promise<string>((r) => victim.socket.once('data', (d) => r(String(d))));
  victim.socket.write('hello');
  t.equal(await echoed, 'echo:hello');
  victim.socket.destroy();

  const lines = origin.seen.map((s) => s.requestLine);
  t.same(lines.filter((l) => l !== 'GET /private HTTP/1.1'), ['GET /ws HTTP/1.1'], 'the origin parsed exactly the requests clients sent, nothing smuggled');
  const ws = origin.seen.find((s) => s.requestLine === 'GET /ws HTTP/1.1')!;
  t.equal(ws.headers.host, 'app.example');
  t.equal(ws.headers['content-length'], undefined, 'no Content-Length on a forwarded upgrade');
});

t.test('an upgrade carrying a body is refused with 400 and never reaches the upstream', async (t) => {
  const origin = await startRawUpstream(t, wsOrigin);
  const proxy = await startProxy(t, { blue: [origin.url], green: [origin.url] });
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
  // Content-Length: 0 is no body.
  const ok = await send(proxy.port, `GET /ws HTTP/1.1\r\nHost: app.example\r\n${WS_HEADERS}Content-Length: 0\r\n\r\n`);
  t.match(ok.head, /^HTTP\/1\.1 101/, 'Content-Length: 0 is no body');
  ok.socket.destroy();
});

t.test('upgrade sockets are never reused: each declined upgrade gets its own upstream connection', async (t) => {
  const origin = await startRawUpstream(t, wsOrigin);
  const proxy = await startProxy(t, { blue: [origin.url], green: [origin.url] });
  for (let i = 0; i < 3; i++) {
    const a = await send(proxy.port, `GET /nope HTTP/1.1\r\nHost: app.example\r\n${WS_HEADERS}\r\n`);
    t.match(a.head, /^HTTP\/1\.1 403/);
    t.match(await a.all, /forbidden$/);
  }
  t.same(origin.seen.map((s) => s.connection), [0, 1, 2], 'three requests, three connections');
});

t.test('only the websocket token is tunnelled: h2c and others are served as plain HTTP/1.1 (RFC 9110 §7.8)', async (t) => {
  const upstream = await startUpstream(t, 'blue');
  const proxy = await startProxy(t, { blue: [upstream.url], green: [upstream.url] });
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
    t.equal(seen.headers['x-forwarded-for'], '127.0.0.1', `${name}: forwarded like any request`);
  }
});

t.test('proxy.upgradeProtocols widens the allow-list', async (t) => {
  const origin = await startRawUpstream(t, (s) => (s.headers.upgrade === 'foo' ? 'upgrade' : 'HTTP/1.1 400 No\r\nContent-Length: 0\r\n\r\n'));
  const proxy = await startProxy(t, { blue: [origin.url], green: [origin.url], proxy: { upgradeProtocols: ['websocket', 'foo'] } });
  const a = await send(proxy.port, 'GET /x HTTP/1.1\r\nHost: app.example\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n');
  t.match(a.head, /^HTTP\/1\.1 101/);
  a.socket.destroy();
});

t.test('an upgrade whose connect never completes gets 504 after connectMs', { ...pythonSkip() }, async (t) => {
  const port = await blackholePort(t);
  const url = `http://127.0.0.1:${port}`;
  // responseMs is long: only connectMs can end this wait.
  const proxy = await startProxy(t, { blue: [url], green: [url], timeouts: { connectMs: 50, responseMs: 600_000 } });
  const a = await send(proxy.port, `GET /ws HTTP/1.1\r\nHost: app.example\r\n${WS_HEADERS}\r\n`);
  t.match(a.head, /^HTTP\/1\.1 504/);
  t.same(proxy.recorded.map((r) => r.outcome), ['timeout']);
});

t.test('an IPv6 target ([::1]) is reached', async (t) => {
  const origin = await startRawUpstream(t, wsOrigin, '::1');
  const proxy = await startProxy(t, { blue: [origin.url], green: [origin.url] });
  const a = await send(proxy.port, `GET /ws HTTP/1.1\r\nHost: app.example\r\n${WS_HEADERS}\r\n`);
  t.match(a.head, /^HTTP\/1\.1 101/);
  a.socket.destroy();
  t.equal(origin.seen.length, 1);
});

const openssl = spawnSync('openssl', ['version']).status === 0;
const opensslSkip = openssl ? {} : process.env.CI === 'true' ? {} : { skip: 'skipped: openssl not installed (apt-get install openssl)' };

t.test('an https target gets TLS, verified against the target host name', opensslSkip, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'turnout-upgrade-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
  const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  const key = readFileSync(join(dir, 'key.pem'), 'utf8');
  // Trust the test certificate in this process, as an operator would with NODE_EXTRA_CA_CERTS.
  const before = tls.getCACertificates('default');
  tls.setDefaultCACertificates([...before, cert]);
  t.teardown(() => tls.setDefaultCACertificates(before));

  const seen: http.IncomingHttpHeaders[] = [];
  const server = https.createServer({ cert, key }, (_req, res) => res.end('plain'));
  server.on('upgrade', (req, socket: net.Socket) => {
    seen.push(req.headers);
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.on('data', (d) => socket.write(`tls:${d}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const url = `https://localhost:${(server.address() as AddressInfo).port}`;
  const proxy = await startProxy(t, { blue: [url], green: [url] });
  const a = await send(proxy.port, `GET /ws HTTP/1.1\r\nHost: app.example\r\n${WS_HEADERS}\r\n`);
  t.match(a.head, /^HTTP\/1\.1 101/);
  const echoed = new Promise<string>((r) => a.socket.once('data', (d) => r(String(d))));
  a.socket.write('x');
  t.equal(await echoed, 'tls:x');
  a.socket.destroy();
  t.equal(seen[0]?.host, 'app.example', 'Host preserved');
});

t.test('a 101 switching to a protocol the client was not offered is a 502', async (t) => {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const proxy = await startProxy(t, { blue: [url], green: [url] });
  const a = await send(proxy.port, `GET /ws HTTP/1.1\r\nHost: app.example\r\n${WS_HEADERS}\r\n`);
  t.match(a.head, /^HTTP\/1\.1 502/);
  t.same(proxy.recorded.map((r) => [r.statusCode, r.outcome]), [[502, 'reset']]);
});
