// The app's upstream timeouts: timeouts.responseMs bounds the target's silence before the
// response headers (504) and between body chunks (the client's response is cut off), while a
// body the proxy paused because the client reads slowly is not timed. clientIdleMs is far
// longer here, so only responseMs can be what ends these exchanges.
import t from 'tap';
import net from 'node:net';
import { request } from 'undici';
import { startUpstream } from '../helpers/upstream.ts';
import { startApp } from '../helpers/app.ts';

const timeouts = { connectMs: 1000, responseMs: 400, clientIdleMs: 30_000 };

t.test('a target silent mid-body is cut off after responseMs', async (t) => {
  const blue = await startUpstream(t, 'blue');
  blue.handle((_req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('partial'); // then silence, connection open
  });
  const app = await startApp(t, { upstreams: { blue: { targets: [blue.url] }, green: { targets: [blue.url] } }, timeouts });
  const started = Date.now();
  const res = await request(app.proxy + '/stall');
  t.equal(res.statusCode, 200);
  await t.rejects(res.body.text(), 'the client sees the body fail, not a clean short answer');
  const elapsed = Date.now() - started;
  t.ok(elapsed < 10_000, `ended by responseMs, not clientIdleMs (${elapsed} ms)`);
  t.equal(blue.seen.filter((s) => s.url === '/stall').length, 1, 'the target saw the request once (no retry after headers)');
});

t.test('a target silent before its headers gets 504', async (t) => {
  const blue = await startUpstream(t, 'blue');
  blue.handle((req, res) => {
    if (req.url === '/healthz') res.end('ok'); // its health check passes, so it gets traffic
  }); // and never answers anything else
  const app = await startApp(t, { upstreams: { blue: { targets: [blue.url] }, green: { targets: [blue.url] } }, timeouts });
  const res = await request(app.proxy + '/never');
  t.equal(res.statusCode, 504);
  t.match(await res.body.json(), { statusCode: 504, error: 'Gateway Timeout' });
});

t.test('a body paused by a slow client is not timed out', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const size = 8 * 1024 * 1024;
  blue.handle((_req, res) => {
    res.writeHead(200, { 'content-length': String(size) });
    res.end(Buffer.alloc(size, 'x'));
  });
  const app = await startApp(t, { upstreams: { blue: { targets: [blue.url] }, green: { targets: [blue.url] } }, timeouts });
  const { port } = new URL(app.proxy);
  // A raw client that reads nothing for 3 × responseMs, then drains the whole body.
  const socket = net.connect(Number(port), '127.0.0.1');
  socket.pause();
  socket.write('GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  await new Promise((r) => setTimeout(r, 3 * timeouts.responseMs));
  let received = 0;
  socket.on('data', (chunk: Buffer) => (received += chunk.length));
  socket.resume();
  await new Promise((r) => socket.on('close', r));
  t.ok(received > size, `the whole body arrived (${received} bytes incl. headers)`);
});
