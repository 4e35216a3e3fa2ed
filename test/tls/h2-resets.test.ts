// A client that resets its stream in the middle of its request body, with RST_STREAM(NO_ERROR)
// (raw frames: a client library sends END_STREAM first). node ends the request body as if it
// were whole on a NO_ERROR close; the upstream must instead see its request cut off, as when an
// HTTP/1.1 client hangs up mid-body, and the exchange must count as the client's doing, never
// as an upstream failure (which passive health would hold against the target).
import t from 'tap';
import { startProxy } from '../helpers/proxy.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';
import { h2Connect, h2Request, hasTool, makeCertificate } from '../helpers/tls.ts';
import { FLAG, FRAME, RawH2, frame, requestBlock, rstStream } from '../helpers/h2-raw.ts';

for (const framing of ['content-length', 'no content-length (chunked upstream)'] as const) {
  t.test(`RST_STREAM(NO_ERROR) mid-body, ${framing}: the upstream request is cut off, recorded as client_abort`, async (t) => {
    if (!hasTool(t, 'openssl', 'openssl')) return;
    const pair = makeCertificate(t.testdir(), 'edge');
    const blue = await startUpstream(t, 'blue');
    const proxy = await startProxy(t, { blue: [blue.url], green: [blue.url], tls: pair });
    const upstreamRequest = new Promise<{ complete: boolean; bytes: number }>((resolve) =>
      blue.server.once('request', (req) => {
        let bytes = 0;
        req.on('data', (c: Buffer) => (bytes += c.length));
        req.once('close', () => resolve({ complete: req.complete, bytes }));
      }),
    );
    const raw = await RawH2.connect(proxy.url);
    t.teardown(() => raw.close());
    const block = requestBlock('/upload', 'x', framing === 'content-length' ? [['content-length', '100']] : []);
    block[0] = 0x83; // :method POST (HPACK static table 3)
    raw.send(Buffer.concat([frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, block), frame(FRAME.DATA, 0, 1, Buffer.from('0123456789'))]));
    await waitFor(() => blue.seen.length === 1, 'the request to reach the upstream');
    raw.send(rstStream(1, 0x0 /* NO_ERROR */));
    const seen = await upstreamRequest;
    t.equal(seen.complete, false, 'the upstream saw its request cut off, not a short body as if whole');
    await waitFor(() => proxy.recorded.length === 1, 'the exchange to be recorded');
    t.equal(proxy.recorded[0]!.outcome, 'client_abort', 'the client reset it: not an upstream failure');
    await waitFor(() => proxy.pools.blue.gates[0]!.busy === 0, 'the upstream connection to be free');
    const other = h2Connect(t, proxy.url);
    t.equal((await h2Request(other, { ':path': '/after' })).status, 200, 'others are served');
  });
}
