// Shadow comparison end to end (CONTRACT §9): a real Turnout app, real blue and green upstreams on
// 127.0.0.1:0. Asserts what the client got, what each colour saw, and what GET /api/v1/shadow says.
import t from 'tap';
import type { Test } from 'tap';
import { request } from 'undici';
import { startApp, type RunningApp } from '../helpers/app.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';

function jsonAnswer(res: import('node:http').ServerResponse, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** Both colours answer `{ path }`, so only what a test changes differs. */
async function setup(t: Test, shadow: Record<string, unknown> = {}, blueTargets = 1): Promise<{ run: RunningApp; blues: Upstream[]; green: Upstream }> {
  const blues: Upstream[] = [];
  for (let i = 0; i < blueTargets; i++) {
    const u = await startUpstream(t, `blue${i}`);
    u.handle((req, res) => jsonAnswer(res, { path: req.url }));
    blues.push(u);
  }
  const green = await startUpstream(t, 'green');
  green.handle((req, res) => jsonAnswer(res, { path: req.url }));
  const run = await startApp(
    t,
    { upstreams: { blue: { targets: blues.map((b) => b.url) }, green: { targets: [green.url] } }, shadow },
    { background: false },
  );
  return { run, blues, green };
}

async function shadowView(run: RunningApp): Promise<Record<string, any>> {
  const res = await run.api('/api/v1/shadow');
  return (await res.json()) as Record<string, any>;
}

const get = async (url: string, init: Parameters<typeof request>[1] = {}) => {
  const res = await request(url, init);
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
};

t.test('percent 0: nothing is mirrored', async (t) => {
  const { run, green } = await setup(t);
  for (let i = 0; i < 5; i++) t.equal((await get(`${run.proxy}/p${i}`)).status, 200);
  t.equal(green.seen.length, 0, 'green saw nothing');
  const view = await shadowView(run);
  t.match(view, { percent: 0, compared: 0, mismatches: 0, mismatchRate: 0 });
});

t.test('percent 100: the client sees blue only, green sees the GET marked as shadow, not the POST; identical answers → rate 0', async (t) => {
  const { run, blues, green } = await setup(t);
  const put = await run.api('/api/v1/shadow', { method: 'PUT', body: JSON.stringify({ percent: 100, reason: 'test' }) });
  t.equal(put.status, 200);
  t.equal(((await put.json()) as { percent: number }).percent, 100);
  const events = (await (await run.api('/api/v1/events')).json()) as { action: string; reason: string }[];
  t.equal(events[0]?.action, 'shadow', 'audited as a shadow event');
  t.equal(events[0]?.reason, 'test');
  t.equal(run.app.state.state.shadow?.percent, 100, 'part of the persisted state');

  green.handle((req, res) => jsonAnswer(res, { path: req.url }));
  const got = await get(`${run.proxy}/same?q=1`);
  t.equal(got.status, 200);
  t.equal(got.headers['x-turnout-colour'], 'blue');
  t.same(JSON.parse(got.body), { path: '/same?q=1' });
  await waitFor(async () => (await shadowView(run)).compared === 1, 'the pair compared');
  const seen = green.seen.find((s) => s.url === '/same?q=1');
  t.ok(seen, 'green saw the mirrored request');
  t.equal(seen?.headers['x-turnout-shadow'], '1', 'marked as a shadow');
  t.equal(blues[0]!.seen[0]?.headers['x-turnout-shadow'], undefined, 'the live request is not marked');

  const posted = await get(`${run.proxy}/write`, { method: 'POST', body: 'x' });
  t.equal(posted.status, 200);
  t.equal(blues[0]!.seen.filter((s) => s.method === 'POST').length, 1);
  t.equal(green.seen.filter((s) => s.method === 'POST').length, 0, 'no POST mirrored by default');

  const view = await shadowView(run);
  t.match(view, { percent: 100, compared: 1, mismatches: 0, mismatchRate: 0, byKind: { status: 0, headers: 0, body: 0 }, samples: [] });
  t.equal(run.app.telemetry.totals('green').latencyCount, 0, 'shadow traffic is not in green\'s windows');
});

t.test('each kind of mismatch is found, with the first differing path', async (t) => {
  const { run, green } = await setup(t, { percent: 100 });
  green.handle((req, res) => {
    if (req.url === '/status') {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ path: req.url }));
    } else if (req.url === '/header') jsonAnswer(res, { path: req.url }, { 'x-version': '2' });
    else if (req.url === '/body') jsonAnswer(res, { path: req.url, extra: { deep: [1] } });
    else jsonAnswer(res, { path: req.url });
  });
  for (const path of ['/status', '/header', '/body', '/fine']) t.equal((await get(run.proxy + path)).status, 200, `${path}: the client gets blue's 200`);
  await waitFor(async () => (await shadowView(run)).compared === 4, 'four pairs compared');
  const view = await shadowView(run);
  t.match(view, { compared: 4, mismatches: 3, mismatchRate: 0.75, byKind: { status: 1, headers: 1, body: 1 } });
  const byPath = Object.fromEntries((view.samples as { path: string; first: string; kinds: string[] }[]).map((s) => [s.path, s]));
  t.match(byPath['/status'], { kinds: ['status'], first: 'status' });
  t.match(byPath['/header'], { kinds: ['headers'], first: 'header:x-version' });
  t.match(byPath['/body'], { kinds: ['body'], first: '$.extra' });
  const metrics = await (await fetch(`${run.admin}/metrics`)).text();
  t.match(metrics, /turnout_shadow_requests_total\{result="mismatch"\} 3/);
  t.match(metrics, /turnout_shadow_requests_total\{result="match"\} 1/);
  t.match(metrics, /turnout_shadow_dropped_total 0/);
});

t.test('a slow idle colour does not hold the client: its answer completes before the shadow\'s', async (t) => {
  const { run, green } = await setup(t, { percent: 100 });
  let greenAnswered = false;
  // The delay is the upstream's behaviour under test, not a wait in the test.
  green.handle((req, res) => setTimeout(() => {
    greenAnswered = true;
    jsonAnswer(res, { path: req.url });
  }, 500));
  const got = await get(`${run.proxy}/slow`);
  t.equal(got.status, 200);
  t.equal(greenAnswered, false, 'the client had its whole answer before green answered');
  t.equal((await shadowView(run)).compared, 0, 'not compared yet');
  await waitFor(async () => (await shadowView(run)).compared === 1, 'the slow pair compared later');
});

t.test('clients never wait for the shadow: 20 concurrent clients all get blue while green holds every answer', async (t) => {
  const { run, green } = await setup(t, { percent: 100 });
  // Green answers nothing until the test lets it: no timer, so no timed assertion either.
  const held: (() => void)[] = [];
  green.handle((req, res) => held.push(() => jsonAnswer(res, { path: req.url })));
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => get(`${run.proxy}/c${i}`)));
  t.ok(answers.every((a) => a.status === 200 && a.headers['x-turnout-colour'] === 'blue'), 'every client had its whole answer from blue');
  await waitFor(() => held.length === 20, 'green to hold all 20 shadows');
  t.equal((await shadowView(run)).compared, 0, 'none compared while green holds them');
  for (const answer of held) answer();
  await waitFor(async () => (await shadowView(run)).compared === 20, 'all 20 compared once green answered');
  t.match(await shadowView(run), { mismatches: 0, dropped: 0 });
});

t.test('a failing shadow is an error: never retried, never in green\'s error rate; a silent one times out', async (t) => {
  const { run, green } = await setup(t, { percent: 100, timeoutMs: 200 });
  green.handle((req, res) => {
    if (req.url === '/reset') res.socket?.destroy();
    // /silent: never answered; shadow.timeoutMs ends it.
  });
  t.equal((await get(`${run.proxy}/reset`)).status, 200, 'the client gets blue\'s answer');
  t.equal((await get(`${run.proxy}/silent`)).status, 200);
  await waitFor(async () => (await shadowView(run)).results.error === 2, 'both shadows end as errors');
  t.equal(green.seen.filter((s) => s.url === '/reset').length, 1, 'the reset shadow was not retried');
  t.equal(green.seen.filter((s) => s.url === '/silent').length, 1);
  const totals = run.app.telemetry.totals('green');
  t.equal(totals.latencyCount, 0, 'nothing in green\'s windows');
  const upstreams = (await (await run.api('/api/v1/upstreams')).json()) as { colours: { green: { requests: number; errors: number } } };
  t.match(upstreams.colours.green, { requests: 0, errors: 0 }, 'green\'s error rate untouched');
  t.equal(run.app.shadow.budget.used, 0);
});

t.test('memory stays bounded when green never answers: shadows are dropped and counted', async (t) => {
  // memoryBytes fits 3 pairs (2 sides × 16 KiB overhead each, plus the live bodies they hold); green holds every request.
  const memoryBytes = 3 * 2 * 16 * 1024 + 1024;
  const { run, green } = await setup(t, { percent: 100, memoryBytes, timeoutMs: 60_000 });
  green.handle(() => {});
  for (let i = 0; i < 10; i++) t.equal((await get(`${run.proxy}/hang${i}`)).status, 200);
  await waitFor(() => green.seen.length === 3, 'three shadows reached green');
  const view = await shadowView(run);
  t.equal(view.dropped, 7, 'the other seven were dropped');
  t.ok(run.app.shadow.budget.used > 3 * 2 * 16 * 1024 && run.app.shadow.budget.used <= memoryBytes, 'no more than the budget is held');
  const metrics = await (await fetch(`${run.admin}/metrics`)).text();
  t.match(metrics, /turnout_shadow_dropped_total 7/);
  green.server.closeAllConnections(); // the held shadows fail: budget given back, counted as errors
  await waitFor(async () => (await shadowView(run)).results.error === 3, 'the held shadows end as errors');
  t.equal(run.app.shadow.budget.used, 0, 'the whole budget is given back');
});

t.test('noise is learnt from two blue targets and not counted', async (t) => {
  const { run, blues, green } = await setup(t, { percent: 100, noisePercent: 100 }, 2);
  blues.forEach((b, i) => b.handle((req, res) => jsonAnswer(res, { path: req.url, host: `blue${i}`, v: 1 }, { 'x-host': `blue${i}` })));
  green.handle((req, res) => jsonAnswer(res, { path: req.url, host: 'green0', v: req.url === '/changed' ? 2 : 1 }, { 'x-host': 'green0' }));
  for (const path of ['/a', '/b', '/c', '/changed']) t.equal((await get(run.proxy + path)).status, 200);
  await waitFor(async () => (await shadowView(run)).compared === 4, 'four pairs compared');
  const view = await shadowView(run);
  const keys = (view.noise as { key: string }[]).map((n) => n.key);
  t.same(keys, ['$.host', 'header:x-host'], 'what differs between two blue copies is noise');
  t.equal(view.mismatches, 1, 'only the real difference counts');
  t.match(view.samples[0], { path: '/changed', first: '$.v' });
  t.ok(blues.every((b) => b.seen.some((s) => s.headers['x-turnout-shadow'] === '1')), 'a noise copy went to another blue target');
});

t.test('bad admin bodies get 400 and change nothing', async (t) => {
  const { run } = await setup(t);
  const version = run.app.state.state.version;
  for (const body of [{ percent: 101 }, { percent: -1 }, { percent: '50' }, {}, { percent: 5, extra: 1 }, { percent: 1.00001 }, { percent: null }, { percent: 5, reason: 7 }]) {
    const res = await run.api('/api/v1/shadow', { method: 'PUT', body: JSON.stringify(body) });
    t.equal(res.status, 400, JSON.stringify(body));
    t.match(((await res.json()) as { message: string }).message, /percent|extra|reason/);
  }
  for (const raw of ['{"percent":', '[5]', '"5"']) {
    const res = await run.api('/api/v1/shadow', { method: 'PUT', body: raw });
    t.equal(res.status, 400, raw);
    t.match(await res.json(), { statusCode: 400, code: /^TURNOUT_ERR_|^FST_/ }, `${raw}: an error body`);
  }
  t.equal(run.app.state.state.version, version, 'no change committed');
});

t.test('a rollout gated on maxShadowMismatchRate holds at 0% with shadowing on, then walks or aborts naming the rate', async (t) => {
  const { run, green } = await setup(t);
  const start = async () => {
    const res = await run.api('/api/v1/rollouts', { method: 'POST', body: JSON.stringify({ steps: [{ weight: 10, holdSeconds: 60 }], analysis: { maxShadowMismatchRate: 0.1, minRequests: 4 } }) });
    t.equal(res.status, 201, await res.clone().text());
  };
  // A green that answers like blue: the gate passes and step 1 begins.
  await start();
  t.equal(run.app.state.snapshot.weight, 0, 'held at 0%');
  t.equal(run.app.state.snapshot.shadowPercent, 100, 'shadowing switched on');
  for (let i = 0; i < 3; i++) await get(`${run.proxy}/ok${i}`);
  await waitFor(async () => (await shadowView(run)).compared === 3, 'three pairs compared');
  await run.app.rollouts.tick();
  t.equal(run.app.state.snapshot.weight, 0, 'still held: fewer pairs than minRequests');
  await get(`${run.proxy}/ok3`);
  await waitFor(async () => (await shadowView(run)).compared === 4, 'four pairs compared');
  await run.app.rollouts.tick();
  t.equal(run.app.state.snapshot.weight, 10, 'gate passed: step 1 at 10%');
  const events = (await (await run.api('/api/v1/events')).json()) as { action: string; reason: string }[];
  t.match(events[0], { action: 'rollout.step', reason: /shadow mismatchRate 0 \(0\/4\) within maxShadowMismatchRate 0.1/ });
  t.equal((await run.api('/api/v1/rollouts/current/abort', { method: 'POST' })).status, 200);

  // A green that answers differently: the rollout aborts without ever shifting traffic.
  green.handle((req, res) => jsonAnswer(res, { path: req.url, changed: true }));
  await start();
  for (let i = 0; i < 4; i++) await get(`${run.proxy}/diff${i}`);
  await waitFor(async () => (await shadowView(run)).compared === 8, 'four more pairs compared');
  await run.app.rollouts.tick();
  const current = (await (await run.api('/api/v1/rollouts/current')).json()) as { status: string; reason: string };
  t.match(current, { status: 'aborted', reason: /shadow mismatchRate 1 \(4\/4\) above maxShadowMismatchRate 0.1/ });
  t.equal(run.app.state.snapshot.weight, 0, 'no traffic ever shifted');
});
