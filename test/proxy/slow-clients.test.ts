// Slow clients must not exhaust a colour (issue 12, item 5). A real Turnout (buildApp) with a
// small upstream pool, a real upstream, and Debian's slowhttptest attacking from 127.0.0.1
// while a well-behaved client on 127.0.0.2 (another loopback address, so another client for
// the per-client cap) keeps asking: every one of its requests must be answered 200, and the
// upstream must have seen each. Without the defences, the attack pins every upstream connection
// and the probe's requests wait in undici's unbounded queue.
// Plus the defences one by one, without slowhttptest: body idle timeout (408), stalled reader
// (disconnected), bounded wait for a connection (503), per-client cap (429, behind a trusted proxy).
import t from 'tap';
import net from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { Agent, request } from 'undici';
import { startApp, type RunningApp } from '../helpers/app.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { startProxy } from '../helpers/proxy.ts';
import { waitFor } from '../helpers/wait.ts';

const CHUNK = Buffer.alloc(64 * 1024, 'd');

/** /download?bytes=N streams N bytes with backpressure; /hold waits for release(); others 200. */
function serveDownloads(upstream: Upstream): { release(): void; held: number } {
  const waiting: (() => void)[] = [];
  const state = {
    release() {
      for (const fn of waiting.splice(0)) fn();
    },
    get held() {
      return waiting.length;
    },
  };
  upstream.handle((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/download') {
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
      return pump();
    }
    if (url.pathname === '/hold') {
      waiting.push(() => res.end('released'));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`ok ${url.pathname}`);
  });
  return state;
}

function slowhttptestMissing(): string | undefined {
  if (spawnSync('which', ['slowhttptest']).status === 0) return undefined;
  return 'skipped: slowhttptest not installed (apt-get install slowhttptest)';
}

/** Runs slowhttptest to completion (it stops itself after -l seconds); resolves its output. */
function attack(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('slowhttptest', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(killer);
      resolve(out);
    });
  });
}

/** The well-behaved client: GETs from 127.0.0.2 one after another until `until` resolves. */
async function probeUntil(url: string, until: Promise<unknown>): Promise<{ statuses: Record<string, number>; sent: number }> {
  const agent = new Agent({ localAddress: '127.0.0.2', connections: 2 });
  let done = false;
  void until.finally(() => (done = true));
  const statuses: Record<string, number> = {};
  let sent = 0;
  while (!done) {
    sent++;
    let key: string;
    try {
      const res = await request(`${url}/probe?n=${sent}`, { dispatcher: agent, headersTimeout: 3000, bodyTimeout: 3000 });
      await res.body.dump();
      key = String(res.statusCode);
    } catch (err) {
      key = (err as { code?: string }).code ?? 'error';
    }
    statuses[key] = (statuses[key] ?? 0) + 1;
    await new Promise((r) => setTimeout(r, 50));
  }
  await agent.close();
  return { statuses, sent };
}

async function connectionsOf(app: RunningApp): Promise<{ busy: number; max: number; queued: number }> {
  const body = (await (await app.api('/api/v1/upstreams')).json()) as { colours: { blue: { connections: { busy: number; max: number; queued: number } } } };
  return body.colours.blue.connections;
}

/** Turnout with a small pool (16 connections) and tight client timeouts, for the attacks. */
async function attackedTurnout(t: { teardown(fn: () => unknown): void }) {
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  serveDownloads(blue);
  const app = await startApp(t, {
    upstreams: { blue: { targets: [blue.url] }, green: { targets: [green.url] } },
    timeouts: { clientBodyMs: 1000, sendMs: 1000, queueMs: 1000 },
    proxy: { connectionsPerTarget: 16, maxConcurrentPerClient: 8 },
  });
  return { app, blue, port: Number(new URL(app.proxy).port) };
}

t.test('slowhttptest -B (slow body, 400 connections): other clients keep being served', { timeout: 60_000, skip: process.env.CI === 'true' ? false : slowhttptestMissing() }, async (t) => {
  const { app, blue, port } = await attackedTurnout(t);
  const running = attack(['-B', '-c', '400', '-r', '200', '-i', '3', '-s', '8192', '-x', '10', '-l', '8', '-p', '2', '-u', `http://127.0.0.1:${port}/upload`]);
  // Saturation is visible while the attack runs, and never beyond the pool.
  let peak = { busy: 0, max: 0, queued: 0 };
  const sampling = (async () => {
    while (!(await Promise.race([running.then(() => true), new Promise((r) => setTimeout(() => r(false), 200))]))) {
      const c = await connectionsOf(app);
      if (c.busy >= peak.busy) peak = c;
    }
  })();
  const probe = await probeUntil(app.proxy, running);
  await sampling;
  const output = await running;
  t.match(output, /slow body/i, 'slowhttptest ran the slow-body test');
  t.ok(probe.sent >= 20, `the probe kept asking during the attack (${probe.sent} requests)`);
  t.same(probe.statuses, { 200: probe.sent }, 'every probe request got 200');
  t.equal(blue.seen.filter((s) => s.url.startsWith('/probe')).length, probe.sent, 'the upstream saw every probe request');
  t.equal(peak.max, 16, '/api/v1/upstreams reports the pool size');
  t.ok(peak.busy <= 16, `busy connections never exceed the pool (peak ${peak.busy})`);
  const metrics = await (await fetch(`${app.admin}/metrics`)).text();
  const rejected = Number(/^turnout_client_limit_rejections_total (\d+)/m.exec(metrics)?.[1]);
  t.ok(rejected > 0, `the attacker was capped (${rejected} requests got 429)`);
  t.match(metrics, /turnout_upstream_connections_busy\{colour="blue",target="http:\/\/127\.0\.0\.1:\d+"\} \d+/);
  await waitFor(async () => (await connectionsOf(app)).busy === 0, 'the slow bodies to release their upstream connections', 10_000);
});

t.test('slowhttptest -X (slow read, 300 connections): other clients keep being served', { timeout: 60_000, skip: process.env.CI === 'true' ? false : slowhttptestMissing() }, async (t) => {
  const { app, blue, port } = await attackedTurnout(t);
  const running = attack(['-X', '-c', '300', '-r', '300', '-w', '1', '-y', '512', '-n', '1', '-z', '5', '-k', '1', '-l', '8', '-p', '2', '-u', `http://127.0.0.1:${port}/download?bytes=4194304`]);
  const probe = await probeUntil(app.proxy, running);
  const output = await running;
  t.match(output, /slow read/i, 'slowhttptest ran the slow-read test');
  t.ok(probe.sent >= 20, `the probe kept asking during the attack (${probe.sent} requests)`);
  t.same(probe.statuses, { 200: probe.sent }, 'every probe request got 200');
  t.equal(blue.seen.filter((s) => s.url.startsWith('/probe')).length, probe.sent, 'the upstream saw every probe request');
  t.ok(blue.seen.filter((s) => s.url.startsWith('/download')).length > 0, 'the slow readers did reach the upstream');
  await waitFor(async () => (await connectionsOf(app)).busy === 0, 'the stalled readers to be cut and their upstream connections freed', 10_000);
});

t.test('a request body that stops arriving gets 408 and its upstream request is cancelled', { timeout: 20_000 }, async (t) => {
  const blue = await startUpstream(t, 'blue');
  const proxy = await startProxy(t, { blue: [blue.url], green: [blue.url], timeouts: { clientBodyMs: 300 } });
  const upstreamClosed = new Promise<boolean>((resolve) => blue.server.once('request', (req) => req.once('close', () => resolve(req.complete))));
  const socket = net.connect(proxy.port, '127.0.0.1');
  let answer = '';
  socket.setEncoding('latin1');
  socket.on('data', (d) => (answer += d));
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789');
  await closed;
  t.match(answer, /^HTTP\/1\.1 408 /, 'answered 408');
  t.match(answer, /"the request body stopped arriving"/);
  t.equal(await upstreamClosed, false, 'the upstream saw the request end incomplete (cancelled)');
  await waitFor(() => proxy.recorded.length === 1, 'the exchange to be recorded');
  t.equal(proxy.recorded[0]!.outcome, 'client_abort', 'recorded as the client\'s fault, not an upstream error');
});

t.test('a client that stops reading is disconnected after sendMs, freeing the upstream connection', { timeout: 20_000 }, async (t) => {
  const blue = await startUpstream(t, 'blue');
  serveDownloads(blue);
  const proxy = await startProxy(t, { blue: [blue.url], green: [blue.url], timeouts: { sendMs: 300 } });
  const upstreamResponseClosed = new Promise<boolean>((resolve) => blue.server.once('request', (_req, res) => res.once('close', () => resolve(res.writableFinished))));
  const socket = net.connect(proxy.port, '127.0.0.1');
  socket.on('error', () => {});
  socket.pause(); // never reads
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write('GET /download?bytes=67108864 HTTP/1.1\r\nHost: x\r\n\r\n');
  t.equal(await upstreamResponseClosed, false, 'the upstream\'s answer was cut off, not sent whole');
  socket.resume();
  await closed;
  t.pass('the stalled client\'s connection was closed');
  const busy = proxy.pools.blue.gates[0]!;
  await waitFor(() => busy.busy === 0, 'the upstream connection to be free');
});

t.test('every connection busy: a request waits at most queueMs, then 503; the API shows the saturation', { timeout: 20_000 }, async (t) => {
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  const held = serveDownloads(blue);
  const app = await startApp(t, {
    upstreams: { blue: { targets: [blue.url] }, green: { targets: [green.url] } },
    timeouts: { queueMs: 3000 },
    proxy: { connectionsPerTarget: 2 },
  });
  const holds = [fetch(`${app.proxy}/hold`), fetch(`${app.proxy}/hold`)];
  await waitFor(() => held.held === 2, 'two requests held by the upstream');
  const third = fetch(`${app.proxy}/third`);
  // One body, read while the third request waits (it waits 3 s: ample for a loaded machine).
  type View = { colours: { blue: { connections: unknown; targets: { connections: unknown }[] } } };
  let view: View | undefined;
  await waitFor(async () => {
    view = (await (await app.api('/api/v1/upstreams')).json()) as View;
    return (view.colours.blue.connections as { queued: number }).queued === 1;
  }, 'the third request to queue');
  t.same(view!.colours.blue.connections, { busy: 2, max: 2, queued: 1 }, '/api/v1/upstreams: 2 of 2 busy, 1 waiting');
  t.same(view!.colours.blue.targets[0]!.connections, { busy: 2, max: 2, queued: 1 }, 'per target too');
  const res = await third;
  t.equal(res.status, 503);
  const body = (await res.json()) as { error: string; message: string; colour: string };
  t.same(body, { statusCode: 503, error: 'Service Unavailable', message: 'every connection to the upstream is busy', colour: 'blue' });
  t.notOk(blue.seen.some((s) => s.url === '/third'), 'the refused request never reached the upstream');
  held.release();
  for (const r of await Promise.all(holds)) t.equal(r.status, 200);
  const after = await fetch(`${app.proxy}/after`);
  t.equal(after.status, 200, 'served again once a connection is free');
  const metrics = await (await fetch(`${app.admin}/metrics`)).text();
  t.match(metrics, /turnout_upstream_queue_rejections_total\{colour="blue",target="[^"]+",reason="timeout"\} 1/);
  t.match(metrics, /turnout_upstream_errors_total\{colour="blue",target="[^"]+",kind="saturated"\} 1/);
});

t.test('the per-client cap counts the real client behind a trusted proxy', { timeout: 20_000 }, async (t) => {
  const blue = await startUpstream(t, 'blue');
  const held = serveDownloads(blue);
  const proxy = await startProxy(t, { blue: [blue.url], green: [blue.url], proxy: { trustedProxies: ['127.0.0.1'], maxConcurrentPerClient: 1 } });
  const first = fetch(`${proxy.url}/hold?who=a1`, { headers: { 'x-forwarded-for': '203.0.113.1' } });
  await waitFor(() => held.held === 1, 'the first request of 203.0.113.1 held');
  const second = await fetch(`${proxy.url}/hold?who=a2`, { headers: { 'x-forwarded-for': '203.0.113.1' } });
  t.equal(second.status, 429, 'a second concurrent request of the same client: 429');
  t.match(await second.text(), /more than 1 requests in flight/);
  const other = fetch(`${proxy.url}/hold?who=b`, { headers: { 'x-forwarded-for': '203.0.113.2' } });
  await waitFor(() => held.held === 2, 'another client behind the same proxy is not capped');
  held.release();
  t.equal((await first).status, 200);
  t.equal((await other).status, 200);
  t.same(blue.seen.map((s) => s.url).sort(), ['/hold?who=a1', '/hold?who=b'], 'the upstream never saw the refused request');
  const again = await fetch(`${proxy.url}/x`, { headers: { 'x-forwarded-for': '203.0.113.1' } });
  t.equal(again.status, 200, 'the client is counted out once its request finished');
});

t.test('the per-client cap with buffered bodies: a client gone mid-body is counted out, and the cap holds after a whole one', { timeout: 20_000 }, async (t) => {
  const blue = await startUpstream(t, 'blue');
  const held = serveDownloads(blue);
  const proxy = await startProxy(t, { blue: [blue.url], green: [blue.url], proxy: { maxConcurrentPerClient: 1, requestBufferBytes: 1024 } });
  // Half a body: the request holds the client's one slot while Turnout reads it, before any Exchange.
  const half = net.connect(proxy.port, '127.0.0.1');
  half.on('error', () => {});
  half.write('POST /half HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc');
  await waitFor(async () => (await fetch(`${proxy.url}/probe`)).status === 429, 'the half-sent body to hold the slot');
  half.destroy();
  await waitFor(async () => (await fetch(`${proxy.url}/probe`)).status === 200, 'the slot to come back once that client is gone');
  // A buffered body sent whole: its slot comes back, and the cap still holds afterwards.
  const whole = await fetch(`${proxy.url}/whole`, { method: 'POST', body: 'hello' });
  t.equal(whole.status, 200);
  const first = fetch(`${proxy.url}/hold?n=1`);
  await waitFor(() => held.held === 1, 'one request held by the upstream');
  t.equal((await fetch(`${proxy.url}/hold?n=2`)).status, 429, 'still one slot per client after a buffered request');
  held.release();
  t.equal((await first).status, 200);
  t.notOk(blue.seen.some((s) => s.url === '/half' || s.url === '/hold?n=2'), 'the upstream saw neither the half request nor the refused one');
});

t.test('slowhttptest -B with proxy.requestBufferBytes (no cap): the trickled bodies never reach the upstream', { timeout: 60_000, skip: process.env.CI === 'true' ? false : slowhttptestMissing() }, async (t) => {
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  serveDownloads(blue);
  const app = await startApp(t, {
    upstreams: { blue: { targets: [blue.url] }, green: { targets: [green.url] } },
    proxy: { connectionsPerTarget: 16, maxConcurrentPerClient: 0, requestBufferBytes: 65536 },
  });
  const port = Number(new URL(app.proxy).port);
  const running = attack(['-B', '-c', '400', '-r', '200', '-i', '3', '-s', '8192', '-x', '10', '-l', '8', '-p', '2', '-u', `http://127.0.0.1:${port}/upload`]);
  let peakBusy = 0;
  const sampling = (async () => {
    while (!(await Promise.race([running.then(() => true), new Promise((r) => setTimeout(() => r(false), 200))]))) {
      peakBusy = Math.max(peakBusy, (await connectionsOf(app)).busy);
    }
  })();
  const probe = await probeUntil(app.proxy, running);
  await sampling;
  t.match(await running, /slow body/i);
  t.ok(probe.sent >= 20, `the probe kept asking during the attack (${probe.sent} requests)`);
  t.same(probe.statuses, { 200: probe.sent }, 'every probe request got 200');
  // (slowhttptest's own availability probe is a bodiless GET of the same URL: it does get through.)
  const bodies = blue.seen.filter((s) => s.url.startsWith('/upload') && s.method === 'POST');
  t.equal(bodies.length, 0, 'no trickled body reached the upstream');
  t.ok(blue.seen.some((s) => s.url.startsWith('/upload') && s.method === 'GET'), "slowhttptest's probe GETs were served");
  t.ok(peakBusy <= 2, `the attack held no upstream connection (peak busy ${peakBusy})`);
});

t.test('a buffered body reaches the upstream whole, only once it has all arrived', { timeout: 20_000 }, async (t) => {
  const blue = await startUpstream(t, 'blue');
  const proxy = await startProxy(t, { blue: [blue.url], green: [blue.url], proxy: { requestBufferBytes: 1024 } });
  const socket = net.connect(proxy.port, '127.0.0.1');
  let answer = '';
  socket.setEncoding('latin1');
  socket.on('data', (d) => (answer += d));
  socket.write('POST /buffered HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n0123456789');
  // A request through the same proxy after the first half: by its answer the half has been read.
  t.equal((await fetch(`${proxy.url}/barrier`)).status, 200);
  t.notOk(blue.seen.some((s) => s.url === '/buffered'), 'half a body: nothing sent upstream yet');
  t.equal(proxy.pools.blue.gates[0]!.busy, 0, 'no upstream connection held');
  socket.write('abcdefghij');
  await waitFor(() => /\r\n\r\n\{.*\}$/s.test(answer), 'the answer');
  t.match(answer, /^HTTP\/1\.1 200 /);
  const seen = blue.seen.find((s) => s.url === '/buffered');
  t.equal(seen?.body, '0123456789abcdefghij', 'the upstream got the whole body');
  t.equal(seen?.headers['content-length'], '20');
  socket.destroy();
  const big = await fetch(`${proxy.url}/big`, { method: 'POST', body: 'x'.repeat(5000) });
  t.equal(big.status, 200, 'a body over the limit streams as before');
  t.equal(blue.seen.find((s) => s.url === '/big')?.bodyBytes, 5000);
});
