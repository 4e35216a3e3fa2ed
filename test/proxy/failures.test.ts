// Failure mapping (502/503/504 with JSON bodies that leak nothing), retries within budget,
// client hang-ups, and hostile requests (PITFALLS.md).
import t, { type Test } from 'tap';
import net from 'node:net';
import { request } from 'undici';
import { deadPort, startUpstream } from '../helpers/upstream.ts';
import { startProxy } from '../helpers/proxy.ts';
import { rawExchange as raw } from '../helpers/raw-http.ts';
import { waitFor } from '../helpers/wait.ts';

function assertGatewayBody(t: Test, body: string, status: number, colour: string, secrets: string[]): void {
  const json = JSON.parse(body) as Record<string, unknown>;
  t.same(Object.keys(json).sort(), ['colour', 'error', 'message', 'statusCode']);
  t.equal(json.statusCode, status);
  t.equal(json.colour, colour);
  for (const s of secrets) t.notOk(body.includes(s), `body does not leak ${s}`);
  t.notOk(/ECONN|127\.0\.0\.1|UND_ERR|socket/i.test(body), 'no error text or address');
}

t.test('a refused connection answers 502 with a clean body', async (t) => {
  const port = await deadPort();
  const green = await startUpstream(t, 'green');
  const proxy = await startProxy(t, { blue: [`http://127.0.0.1:${port}`], green: [green.url] });
  const res = await request(proxy.url);
  t.equal(res.statusCode, 502);
  t.match(res.headers['content-type'], /application\/json/);
  assertGatewayBody(t, await res.body.text(), 502, 'blue', [String(port)]);
  t.equal(green.seen.length, 0, 'never spills to the other colour');
  t.same(proxy.recorded.map((r) => r.outcome), ['refused']);
});

t.test('a reset before headers answers 502', async (t) => {
  const blue = await startUpstream(t, 'blue');
  blue.handle((req) => req.socket.destroy());
  const proxy = await startProxy(t, { blue: [blue.url], green: [blue.url] });
  const res = await request(proxy.url, { method: 'POST', body: 'x' });
  t.equal(res.statusCode, 502);
  assertGatewayBody(t, await res.body.text(), 502, 'blue', [String(blue.port)]);
  t.equal(blue.seen.length, 1, 'a POST is not retried');
  t.same(proxy.recorded.map((r) => r.outcome), ['reset']);
});

t.test('no response headers within responseMs answers 504', async (t) => {
  const blue = await startUpstream(t, 'blue');
  blue.handle(() => {}); // never answers
  const proxy = await startProxy(t, { blue: [blue.url], green: [blue.url], timeouts: { responseMs: 200 } });
  const res = await request(proxy.url);
  t.equal(res.statusCode, 504);
  assertGatewayBody(t, await res.body.text(), 504, 'blue', [String(blue.port)]);
  t.equal(blue.seen.length, 1, 'a timeout is not retried');
  t.same(proxy.recorded.map((r) => r.outcome), ['timeout']);
});

t.test('no available target answers 503 and counts it', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const proxy = await startProxy(t, { blue: [blue.url], green: [blue.url] });
  proxy.pools.blue.setProbeHealth(proxy.pools.blue.targets[0]!, false, 'test');
  const res = await request(proxy.url);
  t.equal(res.statusCode, 503);
  assertGatewayBody(t, await res.body.text(), 503, 'blue', [String(blue.port)]);
  t.equal(blue.seen.length, 0);
  t.same(proxy.recorded, [{ colour: 'blue', target: null, statusCode: 503, outcome: 'no_healthy_target' }]);
});

t.test('upstream 5xx passes through and counts as an error; 4xx does not', async (t) => {
  const blue = await startUpstream(t, 'blue');
  let status = 500;
  blue.handle((_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(`status ${status}`);
  });
  const proxy = await startProxy(t, { blue: [blue.url], green: [blue.url] });
  let res = await request(proxy.url);
  t.equal(res.statusCode, 500);
  t.equal(await res.body.text(), 'status 500', 'the upstream’s own body');
  status = 404;
  res = await request(proxy.url);
  t.equal(res.statusCode, 404);
  await res.body.dump();
  t.same(proxy.recorded.map((r) => r.outcome), ['status5xx', 'ok']);
  t.equal(blue.seen.length, 2, '5xx is never retried');
});

t.test('idempotent requests retry once on another target of the same colour', async (t) => {
  const port = await deadPort();
  const alive = await startUpstream(t, 'alive');
  const green = await startUpstream(t, 'green');
  const dead = `http://127.0.0.1:${port}`;
  const proxy = await startProxy(t, { blue: [dead, alive.url], green: [green.url] });
  for (let i = 0; i < 6; i++) {
    const res = await request(proxy.url);
    t.equal(res.statusCode, 200, `GET ${i} served`);
    await res.body.dump();
  }
  t.equal(alive.seen.length, 6);
  t.equal(green.seen.length, 0);
  // What clients saw apart from what the targets did (Envoy's downstream_rq_* / upstream_rq_*).
  t.same(proxy.recorded.map((r) => [r.target, r.outcome]), Array(6).fill([alive.url, 'ok']), 'six client responses, all fine');
  t.same(proxy.retries, Array(3).fill({ colour: 'blue', target: dead, outcome: 'refused' }), 'each failed attempt is a retry of the dead target');
  t.equal(proxy.inFlight, 0);
  const post = await request(proxy.url, { method: 'POST', body: 'data' });
  await post.body.dump();
  // Round robin puts this POST on either target; if it hit the dead one it must not be retried.
  const last = proxy.recorded.at(-1)!;
  if (last.outcome === 'refused') t.equal(post.statusCode, 502, 'POST not retried');
  else t.equal(post.statusCode, 200);
  t.equal(proxy.retries.length, 3, 'a POST is never retried');
});

t.test('the retry budget caps retries under a failing target', async (t) => {
  const port = await deadPort();
  const alive = await startUpstream(t, 'alive');
  const proxy = await startProxy(t, { blue: [`http://127.0.0.1:${port}`, alive.url], green: [alive.url], proxy: { retryBudget: 0 } });
  const statuses: number[] = [];
  for (let i = 0; i < 40; i++) {
    const res = await request(proxy.url);
    statuses.push(res.statusCode);
    await res.body.dump();
  }
  const failed = statuses.filter((s) => s === 502).length;
  // The reserve of ten retries per window, none earned: after ten retries the dead target's turns answer 502.
  t.equal(failed, 10, `${failed} of 40 answered 502 once the budget was spent`);
  t.equal(proxy.retries.length, 10);
  t.equal(proxy.recorded.filter((r) => r.outcome === 'refused').length, 10, 'the unretried failures are what clients saw');
});

t.test('a client that hangs up cancels the upstream request and is not an upstream error', async (t) => {
  const blue = await startUpstream(t, 'blue');
  let upstreamClosed = false;
  blue.handle((req, res) => {
    res.on('close', () => (upstreamClosed = true));
    void req;
  });
  const proxy = await startProxy(t, { blue: [blue.url], green: [blue.url] });
  const socket = net.connect(proxy.port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write('GET /slow HTTP/1.1\r\nHost: h\r\n\r\n');
  await waitFor(() => blue.seen.length === 1, 'the upstream to see the request');
  socket.destroy();
  await waitFor(() => upstreamClosed, 'the upstream request to be cancelled');
  await waitFor(() => proxy.recorded.length === 1, 'the request to be recorded');
  t.same(proxy.recorded.map((r) => r.outcome), ['client_abort']);
  t.equal(proxy.inFlight, 0);
});

t.test('an upstream that dies mid-body truncates the client response', async (t) => {
  const blue = await startUpstream(t, 'blue');
  blue.handle((_req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('partial');
    setTimeout(() => res.socket?.destroy(), 20);
  });
  const proxy = await startProxy(t, { blue: [blue.url], green: [blue.url] });
  const res = await request(proxy.url);
  t.equal(res.statusCode, 200);
  await t.rejects(res.body.text(), 'the client sees the body fail, not a clean short answer');
  await waitFor(() => proxy.recorded.length === 1, 'recorded');
  t.equal(proxy.recorded[0]!.outcome, 'reset');
});

t.test('hostile and malformed requests get 4xx and never crash the proxy', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const proxy = await startProxy(t, { blue: [blue.url], green: [blue.url] });
  const many = Array.from({ length: 101 }, (_, i) => `X-H${i}: v\r\n`).join('');
  const cases: [string, string, RegExp][] = [
    ['101 header fields', `GET / HTTP/1.1\r\nHost: h\r\n${many}\r\n`, /^HTTP\/1\.1 431/],
    ['one 20 KB header', `GET / HTTP/1.1\r\nHost: h\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, /^HTTP\/1\.1 431/],
    ['CL and TE together', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', /^HTTP\/1\.1 400/],
    ['duplicate differing Content-Length', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello', /^HTTP\/1\.1 400/],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n  folded\r\n\r\n', /^HTTP\/1\.1 400/],
    ['bad chunk size', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', /^HTTP\/1\.1 400/],
    ['bare LF', 'GET / HTTP/1.1\nHost: h\n\n', /^HTTP\/1\.1 400/],
    ['dot segments', 'GET /a/../etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n', /^HTTP\/1\.1 400/],
    ['encoded dot segments', 'GET /a/%2e%2E/etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n', /^HTTP\/1\.1 400/],
    ['absolute-form target', 'GET http://evil/ HTTP/1.1\r\nHost: h\r\n\r\n', /^HTTP\/1\.1 400/],
    ['garbage', 'HELLO\r\n\r\n', /^HTTP\/1\.1 400/],
  ];
  for (const [name, text, want] of cases) t.match(await raw(proxy.port, text), want, name);
  t.equal(blue.seen.length, 0, 'none reached the upstream');
  // A bad chunk is only seen after the request started: it may be recorded, as the client's fault.
  t.ok(proxy.recorded.every((r) => r.outcome === 'client_abort'), 'nothing counted against the upstream');
  const res = await request(proxy.url + '/still/alive');
  t.equal(res.statusCode, 200);
  await res.body.dump();
  t.equal(blue.seen.length, 1);
  t.equal(blue.seen[0]!.url, '/still/alive');
});

t.test('100 header fields are fine', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const proxy = await startProxy(t, { blue: [blue.url], green: [blue.url] });
  const headers: Record<string, string> = {};
  for (let i = 0; i < 98; i++) headers[`x-h${i}`] = 'v';
  const res = await request(proxy.url, { headers }); // + host + connection = 100
  t.equal(res.statusCode, 200);
  await res.body.dump();
});

t.test('a request is retried at most once, even with more dead targets than one', async (t) => {
  const dead = [await deadPort(), await deadPort(), await deadPort()].map((p) => `http://127.0.0.1:${p}`);
  const proxy = await startProxy(t, { blue: dead, green: dead });
  const res = await request(proxy.url);
  t.equal(res.statusCode, 502);
  await res.body.dump();
  t.same(proxy.retries.map((r) => r.outcome), ['refused'], 'the first attempt, retried');
  t.same(proxy.recorded.map((r) => r.outcome), ['refused'], 'and one retry, no more: one client response');
});
