// Mirrored request bodies (CONTRACT §9, issue 17): with POST in shadow.methods the idle colour
// gets the same body as the live target, copied as the live side reads it; a body longer than
// shadow.maxBodyBytes is never buffered: the shadow is dropped and counted, the client unaffected.
// Real Turnout, real blue and green upstreams on 127.0.0.1:0.
import t from 'tap';
import type { Test } from 'tap';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { startApp, type RunningApp } from '../helpers/app.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';

/** Both colours echo what they received: method, length and hash of the body. */
async function setup(t: Test, shadow: Record<string, unknown>, proxy: Record<string, unknown> = {}): Promise<{ run: RunningApp; blue: Upstream; green: Upstream }> {
  const echo = (name: string) => async () => {
    const u = await startUpstream(t, name);
    u.handle((req, res, seen) => {
      const body = JSON.stringify({ method: req.method, bytes: seen.bodyBytes, sha: createHash('sha1').update(seen.body).digest('hex') });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    return u;
  };
  const blue = await echo('blue')();
  const green = await echo('green')();
  const run = await startApp(t, { upstreams: { blue: { targets: [blue.url] }, green: { targets: [green.url] } }, shadow, proxy }, { background: false });
  return { run, blue, green };
}

async function view(run: RunningApp): Promise<Record<string, any>> {
  return (await (await run.api('/api/v1/shadow')).json()) as Record<string, any>;
}

async function post(url: string, body: string | Readable, headers: Record<string, string> = {}) {
  const res = await request(url, { method: 'POST', body, headers: { 'content-type': 'text/plain', ...headers } });
  return { status: res.statusCode, colour: res.headers['x-turnout-colour'], json: (await res.body.json()) as { method: string; bytes: number; sha: string } };
}

const sha = (s: string) => createHash('sha1').update(s).digest('hex');

/** A body that arrives in pieces, without Content-Length (chunked). */
function chunked(parts: string[]): Readable {
  return Readable.from(parts.map((p) => Buffer.from(p)));
}

t.test('with POST in shadow.methods the idle colour sees the same body (Content-Length, chunked, buffered)', async (t) => {
  for (const requestBufferBytes of [0, 65_536]) {
    t.test(`proxy.requestBufferBytes ${requestBufferBytes}`, async (t) => {
      const { run, blue, green } = await setup(t, { percent: 100, methods: ['GET', 'POST'] }, { requestBufferBytes });
      const fixed = 'x'.repeat(20_000);
      const got = await post(`${run.proxy}/orders`, fixed);
      t.equal(got.status, 200);
      t.equal(got.colour, 'blue', 'the client gets blue\'s answer');
      t.same(got.json, { method: 'POST', bytes: 20_000, sha: sha(fixed) }, 'blue got the whole body');
      const parts = ['{"a":', '1,"b":', '"two"}'];
      const streamed = await post(`${run.proxy}/orders/2`, chunked(parts), { 'content-type': 'application/json' });
      t.same(streamed.json, { method: 'POST', bytes: parts.join('').length, sha: sha(parts.join('')) }, 'blue got the chunked body');

      await waitFor(async () => (await view(run)).compared === 2, 'both pairs compared');
      const seen = green.seen.filter((s) => s.method === 'POST');
      t.equal(seen.length, 2, 'green saw both POSTs');
      t.equal(seen[0]?.url, '/orders');
      t.equal(seen[0]?.body, fixed, 'the same Content-Length body');
      t.equal(seen[0]?.headers['x-turnout-shadow'], '1');
      t.equal(seen[1]?.body, parts.join(''), 'the same chunked body, whole');
      t.equal(seen[1]?.headers['content-length'], String(parts.join('').length), 'replayed with its length');
      t.equal(blue.seen.filter((s) => s.method === 'POST').length, 2);
      t.match(await view(run), { compared: 2, mismatches: 0, dropped: 0 }, 'same body, same answer: a match');
      t.equal(run.app.shadow.budget.used, 0, 'every copied byte given back');
    });
  }
});

t.test('a body over maxBodyBytes: the shadow is dropped and counted, the client unaffected', async (t) => {
  const { run, blue, green } = await setup(t, { percent: 100, methods: ['POST'], maxBodyBytes: 1024 });
  const big = 'y'.repeat(4096);
  // Declared too long: never copied at all.
  const declared = await post(`${run.proxy}/upload`, big);
  t.same(declared.json, { method: 'POST', bytes: 4096, sha: sha(big) }, 'blue got the whole body');
  // Chunked: copied until it passes the limit, then the copy is let go; the upload goes on.
  const parts = Array.from({ length: 8 }, (_, i) => String(i).repeat(512));
  const streamed = await post(`${run.proxy}/upload/chunked`, chunked(parts));
  t.same(streamed.json, { method: 'POST', bytes: 4096, sha: sha(parts.join('')) }, 'blue got the whole chunked body');
  // A small one still goes through.
  const small = await post(`${run.proxy}/upload/small`, 'z'.repeat(100));
  t.equal(small.status, 200);
  await waitFor(async () => (await view(run)).compared === 1, 'the small pair compared');
  const v = await view(run);
  t.equal(v.dropped, 2, 'both big ones dropped and counted');
  t.same(green.seen.map((s) => s.url), ['/upload/small'], 'green never saw a big body, not even part of one');
  t.equal(blue.seen.length, 3);
  t.equal(run.app.shadow.budget.used, 0, 'nothing held');
  const metrics = await (await fetch(`${run.admin}/metrics`)).text();
  t.match(metrics, /turnout_shadow_dropped_total 2/);
});

t.test('POST is not mirrored by default, whatever its size', async (t) => {
  const { run, green } = await setup(t, { percent: 100 });
  t.equal((await post(`${run.proxy}/write`, 'abc')).status, 200);
  t.equal((await request(`${run.proxy}/read`)).statusCode, 200);
  await waitFor(async () => (await view(run)).compared === 1, 'the GET compared');
  t.same(green.seen.map((s) => `${s.method} ${s.url}`), ['GET /read']);
  t.equal((await view(run)).dropped, 0, 'a method not mirrored is not a drop');
});
