// Retries that cover a crash, bounded so they never multiply a failing colour's load (issue 12
// item 3; exchange.ts, retry-budget.ts): real upstreams on 127.0.0.1:0, asserting what the
// clients got and what each upstream saw.
import t from 'tap';
import type http from 'node:http';
import { request } from 'undici';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { startProxy } from '../helpers/proxy.ts';
import { waitFor } from '../helpers/wait.ts';

const OUTLIER = { consecutiveFailures: 3, ejectMs: 10_000 };

function answerOk(res: http.ServerResponse, name: string, path: string): void {
  const body = JSON.stringify({ name, path });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** `n` GETs, `concurrency` at a time; their status codes in order. */
async function load(url: string, n: number, concurrency: number): Promise<number[]> {
  const statuses: number[] = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const res = await request(`${url}/load/${i}`);
      await res.body.dump();
      statuses[i] = res.statusCode;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return statuses;
}

/** Holds every request until released; answers at once after that. */
function hold(upstream: Upstream, name: string) {
  const held: { res: http.ServerResponse; path: string }[] = [];
  let released = false;
  upstream.handle((req, res) => {
    if (released) return answerOk(res, name, req.url ?? '');
    held.push({ res, path: req.url ?? '' });
  });
  return {
    held,
    release() {
      released = true;
      for (const h of held.splice(0)) answerOk(h.res, name, h.path);
    },
  };
}

t.test('one of two targets dies with many GETs in flight: no client sees it', async (t) => {
  const a = await startUpstream(t, 'a');
  const b = await startUpstream(t, 'b');
  const proxy = await startProxy(t, { blue: [a.url, b.url], green: [b.url], outlier: OUTLIER });
  t.same(new Set(await load(proxy.url, 200, 10)), new Set([200]), 'warm-up traffic');

  const heldA = hold(a, 'a');
  const heldB = hold(b, 'b');
  const IN_FLIGHT = 80;
  const clients = Array.from({ length: IN_FLIGHT }, async (_, i) => {
    const res = await request(`${proxy.url}/crash/${i}`);
    return { status: res.statusCode, body: await res.body.text() };
  });
  await waitFor(() => heldA.held.length + heldB.held.length === IN_FLIGHT, 'every request to reach a target');
  const onDying = heldA.held.map((h) => h.path);
  t.ok(onDying.length >= IN_FLIGHT / 2 - 1, `${onDying.length} requests in flight on the target that dies`);

  await a.close(); // every connection cut at once, the port closed: what a SIGKILL does to its peers
  heldB.release();
  const results = await Promise.all(clients);
  t.same(results.filter((r) => r.status !== 200), [], 'every client got 200');
  t.ok(results.every((r) => JSON.parse(r.body).name === 'b'), 'answered by the surviving target');
  const seenOnB = new Set(b.seen.map((s) => s.url));
  t.ok(onDying.every((path) => seenOnB.has(path)), 'the surviving target saw each request the dead one had');

  t.equal(proxy.retries.length, onDying.length, 'one retry per request cut off');
  t.ok(proxy.retries.every((r) => r.target === a.url && r.outcome === 'reset'));
  t.ok(proxy.recorded.every((r) => r.outcome === 'ok'), 'no client-visible error recorded');
  t.equal(proxy.inFlight, 0);

  // New requests find the dead target out (refused, retried, then ejected) and still all succeed.
  t.same(new Set(await load(proxy.url, 50, 5)), new Set([200]), 'traffic after the crash');
  t.equal(proxy.pools.blue.targets[0]!.available, false, 'the dead target is ejected');
});

t.test('a colour failing everywhere: attempts ≤ (1 + retryBudget) × requests + the reserve', async (t) => {
  const a = await startUpstream(t, 'a');
  const b = await startUpstream(t, 'b');
  for (const u of [a, b]) u.handle((req) => req.socket.destroy()); // reset every request
  // No ejection here (the helper's default): with it, one target is ejected and the other,
  // the last one allowed to serve, has nowhere to retry to; this measures the budget alone.
  const proxy = await startProxy(t, { blue: [a.url, b.url], green: [b.url], proxy: { retryBudget: 0.2 } });
  const REQUESTS = 300;
  const statuses = await load(proxy.url, REQUESTS, 20);
  t.same(new Set(statuses), new Set([502]), 'every client got 502');
  const attempts = a.seen.length + b.seen.length;
  const reserve = 10;
  t.ok(attempts <= 1.2 * REQUESTS + reserve, `${attempts} attempts for ${REQUESTS} requests (bound ${1.2 * REQUESTS + reserve})`);
  t.ok(attempts >= 1.15 * REQUESTS, 'the budget is used, not just the reserve');
  t.equal(proxy.retries.length, attempts - REQUESTS, 'every extra attempt is a counted retry');
  t.equal(proxy.recorded.length, REQUESTS, 'one client response per request');
  t.ok(proxy.recorded.every((r) => r.outcome === 'reset'));
});

t.test('non-idempotent or bodied requests are not retried after a crash', async (t) => {
  const a = await startUpstream(t, 'a');
  const b = await startUpstream(t, 'b');
  const proxy = await startProxy(t, { blue: [a.url, b.url], green: [b.url], outlier: OUTLIER });
  a.handle((req) => req.socket.destroy());
  const statuses: number[] = [];
  for (const [method, body] of [['POST', 'x'], ['PUT', 'x'], ['POST', undefined], ['PATCH', 'x']] as const) {
    for (let i = 0; i < 2; i++) {
      const res = await request(proxy.url, { method, ...(body ? { body } : {}) });
      await res.body.dump();
      statuses.push(res.statusCode);
    }
  }
  t.equal(statuses.filter((s) => s === 502).length, a.seen.length, 'each request that hit the dying target got 502');
  t.equal(proxy.retries.length, 0);
});
