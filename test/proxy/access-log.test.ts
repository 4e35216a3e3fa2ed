// The access log and the gateway-error causes (src/proxy/access-log.ts) through the whole app:
// real upstreams, the real proxy, a real pino logger writing to a stream we read. Asserts what
// the client got, what the upstream saw, and the log lines; the rate limit and the cause table
// are checked on the module with an injected clock.
import { Writable } from 'node:stream';
import http from 'node:http';
import t from 'tap';
import pino from 'pino';
import type { IncomingMessage } from 'node:http';
import { createResponseLog, describeCause, CLIENT_CLOSED } from '../../src/proxy/access-log.ts';
import type { Target } from '../../src/upstream/target.ts';
import { startApp } from '../helpers/app.ts';
import { deadPort, startUpstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';

interface Line {
  level: number;
  msg: string;
  [key: string]: unknown;
}

function capture(): { logger: pino.Logger; lines: Line[] } {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString().split('\n')) if (text !== '') lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

const access = (lines: Line[]) => lines.filter((l) => l.msg === 'access');

t.test('log.access: one line per request with colour, target, status, duration and bytes', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  const { logger, lines } = capture();
  const run = await startApp(t, { upstreams: { blue: { targets: [blue.url] }, green: { targets: [green.url] } }, log: { access: true } }, { logger, background: false });

  const res = await fetch(`${run.proxy}/hello?x=1`);
  const body = await res.text();
  t.equal(res.status, 200);
  t.equal(blue.seen.length, 1, 'blue saw the request');
  const green1 = await fetch(`${run.proxy}/g`, { method: 'POST', body: 'abc', headers: { 'x-turnout-colour': 'green' } });
  const greenBody = await green1.text();
  t.equal(green.seen[0]?.body, 'abc', 'green saw the body');

  await waitFor(() => access(lines).length === 2, 'two access lines');
  const [first, second] = access(lines);
  t.match(first, { level: 30, service: 'default', colour: 'blue', target: blue.url, method: 'GET', url: '/hello?x=1', status: 200, bytes: Buffer.byteLength(body) });
  t.type(first?.durationMs, 'number');
  t.notOk('cause' in (first ?? {}), 'no cause for a good answer');
  t.match(second, { colour: 'green', target: green.url, method: 'POST', status: 200, bytes: Buffer.byteLength(greenBody) });
});

t.test('log.access: a refused target gives a 502 line with the upstream cause', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const dead = `http://127.0.0.1:${await deadPort()}`;
  const { logger, lines } = capture();
  const run = await startApp(t, { upstreams: { blue: { targets: [blue.url] }, green: { targets: [dead] } }, log: { access: true } }, { logger, background: false });

  const res = await fetch(`${run.proxy}/x`, { headers: { 'x-turnout-colour': 'green' } });
  const body = await res.text();
  t.equal(res.status, 502);
  t.notOk(body.includes('127.0.0.1'), 'the client body names no internal address');
  await waitFor(() => access(lines).length === 1, 'the access line');
  t.match(access(lines)[0], { colour: 'green', target: dead, status: 502, bytes: Buffer.byteLength(body), cause: { kind: 'refused', code: 'ECONNREFUSED' } });
  t.match(String((access(lines)[0]?.cause as { message?: string }).message), /ECONNREFUSED/, 'the log keeps the error text the body leaves out');
  t.equal(lines.filter((l) => l.level === 40 && /^502/.test(l.msg)).length, 0, 'with the access log on, no separate warn line');
});

t.test('log.access: a client that hangs up before the headers is logged as 499', async (t) => {
  const blue = await startUpstream(t, 'blue');
  blue.handle(() => {}); // never answers
  const green = await startUpstream(t, 'green');
  const { logger, lines } = capture();
  const run = await startApp(t, { upstreams: { blue: { targets: [blue.url] }, green: { targets: [green.url] } }, log: { access: true } }, { logger, background: false });
  const req = http.get(`${run.proxy}/slow`);
  req.on('error', () => {});
  await waitFor(() => blue.seen.length === 1, 'blue to receive the request');
  req.destroy();
  await waitFor(() => access(lines).length === 1, 'the access line');
  t.match(access(lines)[0], { colour: 'blue', status: CLIENT_CLOSED, bytes: 0, complete: false });
  t.notOk('cause' in (access(lines)[0] ?? {}), 'a client hang-up is not an upstream cause');
});

t.test('access log off: 200s are silent; a 504 cause is logged at warn', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  green.handle(() => {}); // no response headers: a timeout
  const { logger, lines } = capture();
  const run = await startApp(t, { upstreams: { blue: { targets: [blue.url] }, green: { targets: [green.url] } }, timeouts: { responseMs: 200 } }, { logger, background: false });

  t.equal((await fetch(`${run.proxy}/ok`)).status, 200);
  const res = await fetch(`${run.proxy}/t`, { headers: { 'x-turnout-colour': 'green' } });
  await res.text();
  t.equal(res.status, 504);
  await waitFor(() => lines.some((l) => l.level === 40 && /^504/.test(l.msg)), 'the warn line');
  t.equal(access(lines).length, 0, 'no access lines');
  const warn = lines.find((l) => l.level === 40 && /^504/.test(l.msg));
  t.match(warn, { service: 'default', colour: 'green', target: green.url, status: 504, url: '/t', cause: { kind: 'timeout', code: 'UND_ERR_HEADERS_TIMEOUT' } });
  t.match(warn?.msg, /^504 from green: timeout \(UND_ERR_HEADERS_TIMEOUT\)$/);
  t.equal(lines.filter((l) => l.status === 200).length, 0, 'the 200 left no line');
});

t.test('a target coming back is logged at info, one going away at warn', async (t) => {
  let now = 1_700_000_000_000;
  const clock = { now: () => now };
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  // A second green target: passive ejection never takes the last target passing its probes.
  const green2 = await startUpstream(t, 'green');
  green2.handle((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('yes');
  });
  let failing = true;
  green.handle((_req, res) => {
    res.writeHead(failing ? 500 : 200, { 'content-type': 'text/plain' });
    res.end(failing ? 'no' : 'yes');
  });
  const { logger, lines } = capture();
  const run = await startApp(
    t,
    { upstreams: { blue: { targets: [blue.url] }, green: { targets: [green.url, green2.url] } }, outlier: { consecutiveFailures: 3, ejectMs: 10_000 } },
    { logger, background: false, clock },
  );
  for (let i = 0; i < 6; i++) await (await fetch(`${run.proxy}/`, { headers: { 'x-turnout-colour': 'green' } })).text();
  const down = lines.find((l) => /^target unavailable/.test(l.msg));
  t.equal(down?.level, 40, 'unavailable: warn');
  failing = false;
  now += 10_000;
  // Two requests: round robin reaches the ejected target, whose ejection is found expired.
  for (let i = 0; i < 2; i++) {
    const res = await fetch(`${run.proxy}/`, { headers: { 'x-turnout-colour': 'green' } });
    t.equal(await res.text(), 'yes', 'green serves again');
  }
  const up = lines.find((l) => /^target available/.test(l.msg));
  t.equal(up?.level, 30, 'available again: info');
  t.match(up, { colour: 'green', target: green.url, available: true });
});

const fakeReq = { method: 'GET', url: '/p' } as IncomingMessage;
const fakeTarget = { url: 'http://10.0.0.1:3000' } as Target;

t.test('access log off: at most `limit` warn lines per window, then a count of the dropped', async (t) => {
  let now = 0;
  const { logger, lines } = capture();
  const log = createResponseLog({ logger, access: false, limit: { lines: 2, windowMs: 1000 }, now: () => now });
  const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:3000'), { code: 'ECONNREFUSED' });
  for (let i = 0; i < 5; i++) log.ended(fakeReq, 'blue', fakeTarget, 502, 1, 8, refused, true);
  log.ended(fakeReq, 'blue', fakeTarget, 200, 1, 8, undefined, true);
  log.ended(fakeReq, 'blue', fakeTarget, 500, 1, 8, undefined, true);
  t.equal(lines.length, 2, 'two lines in the first window; 200 and 500 are not gateway errors');
  now = 999;
  log.ended(fakeReq, 'blue', fakeTarget, 503, 1, 8, undefined, true);
  t.equal(lines.length, 2, 'still the same window');
  now = 1000;
  log.ended(fakeReq, 'green', undefined, 503, 0, 8, undefined, true);
  t.equal(lines.length, 4, 'a new window: the count of the dropped, then the line');
  t.match(lines[2], { level: 40, dropped: 4, msg: '4 more 502/503/504 causes not logged in the last 1s' });
  t.match(lines[3], { level: 40, colour: 'green', target: null, status: 503, cause: { kind: 'no_healthy_target' } });
});

t.test('describeCause', async (t) => {
  const reset = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
  const rows: [number, Target | undefined, Error | undefined, unknown][] = [
    [502, fakeTarget, reset, { kind: 'reset', code: 'UND_ERR_SOCKET', message: 'other side closed' }],
    [503, undefined, undefined, { kind: 'no_healthy_target' }],
    [502, fakeTarget, undefined, { kind: 'upstream_status', message: 'the target answered 502' }],
    [200, fakeTarget, undefined, undefined],
    [500, fakeTarget, undefined, undefined],
  ];
  for (const [status, target, cause, want] of rows) {
    const got = describeCause(status, target, cause);
    if (want === undefined) t.equal(got, undefined, `${status}`);
    else t.match(got, want, `${status} ${cause?.message ?? ''}`);
  }
});

t.test('log.access: a retried request names the first failure as retriedAfter', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const dead = `http://127.0.0.1:${await deadPort()}`;
  const { logger, lines } = capture();
  const run = await startApp(t, { upstreams: { blue: { targets: [dead, blue.url] }, green: { targets: [blue.url] } }, log: { access: true } }, { logger, background: false });
  // Round robin starts at the dead target for one of the first two requests; GET is retried.
  for (let i = 0; i < 2; i++) t.equal((await fetch(`${run.proxy}/r${i}`)).status, 200);
  await waitFor(() => access(lines).length === 2, 'two access lines');
  const retried = access(lines).filter((l) => 'retriedAfter' in l);
  t.equal(retried.length, 1, 'one of them was retried');
  t.match(retried[0], { status: 200, target: blue.url, retriedAfter: { kind: 'refused' } });
  t.notOk(access(lines).some((l) => 'cause' in l), 'no cause on a 200');
});
