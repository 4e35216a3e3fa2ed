// An upstream's interim `100 Continue` (issue 12 item 6), in raw bytes: Turnout answers the
// client's `Expect: 100-continue` itself, as nginx does, never forwards Expect, and skips the
// upstream's 100 instead of failing with 502. What the client got and what the upstream saw.
import t from 'tap';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { startProxy } from '../helpers/proxy.ts';
import { rawExchange } from '../helpers/raw-http.ts';

interface Seen {
  readonly connection: number;
  readonly head: string;
  readonly body: string;
}

/**
 * An origin that sends `interim` as soon as it has a request head, then, once the declared body
 * has arrived, `200` with `got:<body>`; keep-alive. `together` sends the interim and final answer
 * in one write after the body (the 100 then shares a TCP read with the 200).
 */
async function continueUpstream(t: { teardown(fn: () => unknown): void }, interim: string, together = false) {
  const seen: Seen[] = [];
  let connections = 0;
  const server = net.createServer((socket) => {
    const id = connections++;
    let buf = Buffer.alloc(0);
    let head: string | undefined;
    let need = 0;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (head === undefined) {
          const end = buf.indexOf('\r\n\r\n');
          if (end === -1) return;
          head = buf.subarray(0, end).toString('latin1');
          buf = buf.subarray(end + 4);
          need = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          if (!together) socket.write(interim);
        }
        if (buf.length < need) return;
        const body = buf.subarray(0, need).toString('latin1');
        buf = buf.subarray(need);
        seen.push({ connection: id, head, body });
        const reply = `got:${body}`;
        socket.write(`${together ? interim : ''}HTTP/1.1 200 OK\r\nContent-Length: ${reply.length}\r\nConnection: keep-alive\r\n\r\n${reply}`);
        head = undefined;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, connections: () => connections };
}

/** Sends a request head with `Expect: 100-continue`, the body only after an interim 100 arrives. */
function expectContinue(port: number, path: string, body: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let out = '';
    let sent = false;
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      out += d;
      if (!sent && /^HTTP\/1\.1 100 Continue\r\n\r\n/.test(out)) {
        sent = true;
        socket.write(body);
      }
      if (/\r\n\r\ngot:/.test(out) && out.endsWith(body)) socket.end();
    });
    socket.on('close', () => resolve(out));
    socket.on('error', () => resolve(out));
    socket.write(`POST ${path} HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
  });
}

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';

t.test('an upstream 100 Continue to a request without Expect: the client gets the 200, the upstream the body', async (t) => {
  for (const [name, interim, together] of [
    ['100 before the body is read', CONTINUE, false],
    ['100 in the same read as the 200', CONTINUE, true],
    ['two 100s, one with a header field', `${CONTINUE}HTTP/1.1 100 Continue\r\nX-A: 1\r\n\r\n`, false],
  ] as const) {
    const up = await continueUpstream(t, interim, together);
    const proxy = await startProxy(t, { blue: [up.url], green: [up.url] });
    const answer = await rawExchange(proxy.port, 'POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello');
    t.match(answer, /^HTTP\/1\.1 200 OK\r\n/, `${name}: the final answer reaches the client`);
    t.notMatch(answer, /100 Continue/, `${name}: no interim answer the client did not ask for`);
    t.match(answer, /\r\n\r\ngot:hello$/, `${name}: with the upstream's body`);
    t.same(up.seen.map((s) => s.body), ['hello'], `${name}: the upstream saw the body`);
    // The connection survived: a second request reuses it.
    const again = await rawExchange(proxy.port, 'POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi');
    t.match(again, /^HTTP\/1\.1 200 OK\r\n[^]*got:hi$/, `${name}: the next request is answered`);
    t.equal(up.connections(), 1, `${name}: on the same upstream connection`);
  }
});

t.test('a client that sends Expect: 100-continue gets Turnout\'s own 100, then the 200; Expect is not forwarded', async (t) => {
  for (const [name, interim] of [
    ['the upstream sends 100 too', CONTINUE],
    ['the upstream sends no 100', ''],
  ] as const) {
    const up = await continueUpstream(t, interim);
    const proxy = await startProxy(t, { blue: [up.url], green: [up.url] });
    const answer = await expectContinue(proxy.port, '/e', 'payload');
    t.match(answer, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/, `${name}: one 100, then the 200`);
    t.equal(answer.match(/100 Continue/g)?.length, 1, `${name}: exactly one interim answer`);
    t.match(answer, /got:payload$/, `${name}: the upstream's body`);
    t.equal(up.seen.length, 1);
    t.equal(up.seen[0]!.body, 'payload', `${name}: the upstream saw the body`);
    t.notMatch(up.seen[0]!.head, /\r\nexpect:/i, `${name}: Expect is hop-by-hop (RFC 9110 §10.1.1), not forwarded`);
  }
});

t.test('other interim answers (103 Early Hints) are left to undici, which skips them: the client gets the 200', async (t) => {
  const up = await continueUpstream(t, 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n');
  const proxy = await startProxy(t, { blue: [up.url], green: [up.url] });
  const answer = await rawExchange(proxy.port, 'POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello');
  t.match(answer, /^HTTP\/1\.1 200 OK\r\n[^]*got:hello$/);
  t.same(up.seen.map((s) => s.body), ['hello'], 'the upstream saw the body');
});

t.test('an endless interim block is not buffered: past 16 KiB undici parses it and Turnout answers 502', async (t) => {
  const up = await continueUpstream(t, `HTTP/1.1 100 Continue\r\nX-Long: ${'a'.repeat(20_000)}`);
  const proxy = await startProxy(t, { blue: [up.url], green: [up.url] });
  const answer = await rawExchange(proxy.port, 'POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello');
  t.match(answer, /^HTTP\/1\.1 502 /);
});

t.test('a 100 that arrives in pieces, across several reads, is skipped too', async (t) => {
  // llhttp parses the interim block as it streams in; nothing is held or re-parsed.
  const pieces = ['HTTP/1.1 1', '00 Contin', 'ue\r\nX-A: 1\r', '\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n', '\r\nok'];
  let heads = 0;
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => {
      heads++;
      const next = (i: number): void => {
        if (i < pieces.length) socket.write(pieces[i]!, () => setImmediate(next, i + 1));
      };
      next(0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const proxy = await startProxy(t, { blue: [url], green: [url] });
  const answer = await rawExchange(proxy.port, 'GET /p HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
  t.match(answer, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nok$/, 'the final answer, whole');
  t.notMatch(answer, /100 Continue|x-a:/i, 'nothing of the interim block');
  t.equal(heads, 1, 'the upstream saw the request once');
});
