// Upgrades go through the same routing decision and forward what the upstream needs (PITFALLS).
import t, { type Test } from 'tap';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { startProxy } from '../helpers/proxy.ts';
import { deadPort } from '../helpers/upstream.ts';

async function echoUpgradeServer(t: Test, name: string) {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((_req, res) => res.end(name));
  server.on('upgrade', (req, socket: net.Socket) => {
    seen.push(req.headers);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Upstream: ${name}\r\n\r\n`);
    socket.on('data', (d) => socket.write(`${name}:${d.toString()}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function upgrade(port: number, extra: string): Promise<{ head: string; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = '';
    socket.setEncoding('latin1');
    const onData = (d: string) => {
      buf += d;
      const end = buf.indexOf('\r\n\r\n');
      if (end !== -1) {
        socket.off('data', onData);
        resolve({ head: buf.slice(0, end), socket });
      }
    };
    socket.on('data', onData);
    socket.on('error', reject);
    socket.write(`GET /ws HTTP/1.1\r\nHost: app.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`);
  });
}

t.test('WebSocket upgrade: routed like a request, headers forwarded, bytes both ways', async (t) => {
  const blue = await echoUpgradeServer(t, 'blue');
  const green = await echoUpgradeServer(t, 'green');
  const proxy = await startProxy(t, { blue: [blue.url], green: [green.url] });

  const { head, socket } = await upgrade(proxy.port, 'Origin: https://app.example\r\nAuthorization: Bearer abc\r\nCookie: s=1\r\nX-Turnout-Colour: green\r\n');
  t.match(head, /^HTTP\/1\.1 101/);
  t.match(head, /x-turnout-colour: green/i);
  t.match(head, /X-Upstream: green/);
  t.equal(blue.seen.length, 0);
  const h = green.seen[0]!;
  t.equal(h.origin, 'https://app.example');
  t.equal(h.authorization, 'Bearer abc');
  t.equal(h.cookie, 's=1');
  t.equal(h.host, 'app.example');
  t.equal(h['x-forwarded-for'], '127.0.0.1');
  t.equal(h.upgrade, 'websocket');
  t.equal(h['sec-websocket-key'], 'dGhlIHNhbXBsZSBub25jZQ==');
  const echoed = new Promise<string>((r) => socket.once('data', (d) => r(d.toString())));
  socket.write('ping');
  t.equal(await echoed, 'green:ping');
  socket.destroy();
  t.same(proxy.recorded.map((r) => [r.colour, r.statusCode, r.outcome]), [['green', 101, 'ok']]);
});

t.test('WebSocket upgrade to a dead target answers 502', async (t) => {
  const port = await deadPort();
  const proxy = await startProxy(t, { blue: [`http://127.0.0.1:${port}`], green: [`http://127.0.0.1:${port}`] });
  const { head } = await upgrade(proxy.port, '');
  t.match(head, /^HTTP\/1\.1 502/);
  t.same(proxy.recorded.map((r) => r.outcome), ['refused']);
});

t.test('an upgrade the upstream never answers gets 504 after responseMs', async (t) => {
  const server = http.createServer();
  server.on('upgrade', () => {}); // accepts the connection, never answers
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const proxy = await startProxy(t, { blue: [url], green: [url], timeouts: { responseMs: 200 } });
  const { head } = await upgrade(proxy.port, '');
  t.match(head, /^HTTP\/1\.1 504/);
  t.same(proxy.recorded.map((r) => r.outcome), ['timeout']);
});

t.test('an upgrade the upstream declines: its answer passes, hop-by-hop fields stripped, colour added', async (t) => {
  const server = http.createServer();
  server.on('upgrade', (_req, socket: net.Socket) => {
    socket.end('HTTP/1.1 426 Upgrade Required\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\nConnection: keep-alive, X-Hop\r\nX-Kept: yes\r\nContent-Length: 4\r\n\r\nnope');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const proxy = await startProxy(t, { blue: [url], green: [url] });
  // Read the whole answer (head and body may arrive in one packet) until the proxy closes.
  const socket = net.connect(proxy.port, '127.0.0.1');
  socket.write('GET /ws HTTP/1.1\r\nHost: app.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  const answer = await new Promise<string>((r) => {
    let b = '';
    socket.on('data', (d) => (b += d.toString('latin1')));
    socket.on('close', () => r(b));
  });
  const [head, body] = answer.split('\r\n\r\n');
  t.match(head, /^HTTP\/1\.1 426/);
  t.match(head, /X-Kept: yes/);
  t.match(head, /x-turnout-colour: blue/);
  t.match(head, /connection: close/);
  t.notMatch(head, /keep-alive|X-Hop/i, 'hop-by-hop fields, and those Connection names, are not passed on');
  t.equal(body, 'nope');
  t.same(proxy.recorded.map((r) => [r.statusCode, r.outcome]), [[426, 'ok']]);
});
