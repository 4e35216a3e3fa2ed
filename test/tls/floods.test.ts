// The known HTTP/2 floods, sent as raw frames (a client library refuses to): rapid reset
// (CVE-2023-44487), a CONTINUATION flood (CVE-2024-27983), an oversized header list, and more
// streams than SETTINGS_MAX_CONCURRENT_STREAMS. Each time the process stays up, the offending
// session is ended, and another client keeps being served throughout.
import t, { type Test } from 'tap';
import { startApp } from '../helpers/app.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';
import { h2Connect, h2Request, hasTool, makeCertificate } from '../helpers/tls.ts';
import { FLAG, FRAME, RawH2, frame, requestBlock, rstStream } from '../helpers/h2-raw.ts';

const GOAWAY_CODES: Record<number, string> = { 0: 'NO_ERROR', 1: 'PROTOCOL_ERROR', 2: 'INTERNAL_ERROR', 9: 'COMPRESSION_ERROR', 11: 'ENHANCE_YOUR_CALM' };

async function floodApp(t: Test) {
  const pair = makeCertificate(t.testdir(), 'edge');
  const blue = await startUpstream(t, 'blue');
  const app = await startApp(t, { listen: { host: '127.0.0.1', port: 0, tls: pair }, upstreams: { blue: { targets: [blue.url] }, green: { targets: [blue.url] } } });
  // A bystander: one session opened before the flood, used during and after it.
  const bystander = h2Connect(t, app.proxy);
  t.equal((await h2Request(bystander, { ':path': '/before' })).status, 200);
  return { app, blue, bystander, authority: new URL(app.proxy).host };
}

t.test('rapid reset: thousands of HEADERS + RST_STREAM pairs end the session, others are served', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const { app, blue, bystander, authority } = await floodApp(t);
  const attacker = await RawH2.connect(app.proxy);
  const pairs: Buffer[] = [];
  for (let i = 0, id = 1; i < 20_000; i++, id += 2) pairs.push(frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, id, requestBlock('/reset', authority)), rstStream(id));
  attacker.send(Buffer.concat(pairs));
  const during = h2Request(bystander, { ':path': '/during' });
  await waitFor(() => attacker.closed, 'the attacking connection to be closed');
  t.ok(attacker.goaway, `GOAWAY ${GOAWAY_CODES[attacker.goaway?.code ?? -1] ?? attacker.goaway?.code} after stream ${attacker.goaway?.lastStream}`);
  t.ok(attacker.goaway!.lastStream < 20_000 * 2, 'the session was cut off before the burst was processed');
  t.equal((await during).status, 200, 'a bystander session is served during the flood');
  t.equal((await h2Request(bystander, { ':path': '/after' })).status, 200, 'and after it');
  const fresh = h2Connect(t, app.proxy);
  t.equal((await h2Request(fresh, { ':path': '/fresh' })).status, 200, 'new sessions are accepted');
  const reached = blue.seen.filter((s) => s.url === '/reset').length;
  t.ok(reached < 20_000, `${reached} of 20000 reset streams reached the upstream`);
  await waitFor(async () => {
    const r = (await (await app.api('/api/v1/upstreams')).json()) as { colours: { blue: { inFlight: number } } };
    return r.colours.blue.inFlight === 0;
  }, 'no upstream request left in flight');
});

t.test('CONTINUATION flood: a header block that never ends is cut off', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const { app, bystander, authority } = await floodApp(t);
  const attacker = await RawH2.connect(app.proxy);
  attacker.send(frame(FRAME.HEADERS, FLAG.END_STREAM, 1, requestBlock('/cont', authority)));
  let sent = 0;
  // Up to 100 MB of CONTINUATION frames without END_HEADERS; stops once the server hangs up.
  while (!attacker.closed && sent < 6400) {
    const ok = attacker.send(frame(FRAME.CONTINUATION, 0, 1, Buffer.alloc(16_000, 0x40)));
    sent++;
    if (!ok) await new Promise<void>((r) => attacker.socket.once('drain', r).once('close', r));
  }
  await waitFor(() => attacker.closed, 'the flooding connection to be closed');
  t.ok(sent < 6400, `the server hung up after ${sent} CONTINUATION frames`);
  t.ok(attacker.goaway, `GOAWAY ${GOAWAY_CODES[attacker.goaway?.code ?? -1] ?? attacker.goaway?.code}`);
  t.equal(attacker.answered().size, 0, 'no request came of it');
  t.equal((await h2Request(bystander, { ':path': '/after' })).status, 200, 'the bystander is served');
});

t.test('header lists: over 16 KiB → 431 like HTTP/1.1; over the advertised 64 KiB → the session ends', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const { app, blue, bystander, authority } = await floodApp(t);
  const big = await h2Request(bystander, { ':path': '/big', 'x-big': 'a'.repeat(20_000) });
  t.equal(big.status, 431);
  t.equal(JSON.parse(big.body).statusCode, 431);
  t.notOk(blue.seen.some((s) => s.url === '/big'), 'the upstream never saw it');
  t.equal((await h2Request(bystander, { ':path': '/fine', 'x-ok': 'a'.repeat(8_000) })).status, 200, 'an 8 KB field passes');

  const attacker = await RawH2.connect(app.proxy);
  const block = requestBlock('/huge', authority, [['x-huge', 'a'.repeat(70_000)]]);
  for (let i = 0, first = true; i < block.length; i += 16_384, first = false) {
    const last = i + 16_384 >= block.length;
    attacker.send(frame(first ? FRAME.HEADERS : FRAME.CONTINUATION, (first ? FLAG.END_STREAM : 0) | (last ? FLAG.END_HEADERS : 0), 1, block.subarray(i, i + 16_384)));
  }
  await waitFor(() => attacker.closed, 'the connection to be closed');
  t.ok(attacker.goaway, `GOAWAY ${GOAWAY_CODES[attacker.goaway?.code ?? -1] ?? attacker.goaway?.code}`);
  t.notOk(blue.seen.some((s) => s.url === '/huge'), 'the upstream never saw it');
  t.equal((await h2Request(bystander, { ':path': '/after' })).status, 200);
});

t.test('more streams than SETTINGS_MAX_CONCURRENT_STREAMS: the excess is refused, the rest answered', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const { app, blue, authority } = await floodApp(t);
  let release: () => void = () => {};
  const held = new Promise<void>((r) => (release = r));
  blue.handle((req, res) => {
    if (req.url !== '/hold') return res.end('ok');
    void held.then(() => res.end('held'));
  });
  const attacker = await RawH2.connect(app.proxy);
  const frames: Buffer[] = [];
  for (let i = 0, id = 1; i < 150; i++, id += 2) frames.push(frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, id, requestBlock('/hold', authority)));
  attacker.send(Buffer.concat(frames));
  await waitFor(() => blue.seen.filter((s) => s.url === '/hold').length >= 100 || attacker.closed, '100 streams to reach the upstream');
  const refused = () => attacker.resets().filter((f) => f.payload.readUInt32BE(0) === 7 /* REFUSED_STREAM */).length + (attacker.goaway ? 150 : 0);
  await waitFor(() => refused() >= 50, 'the excess streams to be refused');
  t.equal(blue.seen.filter((s) => s.url === '/hold').length, 100, 'exactly 100 streams reached the upstream');
  release();
  if (!attacker.goaway) await waitFor(() => attacker.answered().size === 100, 'the 100 held streams to be answered');
  t.pass(`refused: ${attacker.resets().length} RST_STREAM, GOAWAY ${attacker.goaway ? GOAWAY_CODES[attacker.goaway.code] : 'none'}`);
  attacker.close();
});
