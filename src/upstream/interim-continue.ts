// Tolerating an upstream's `100 Continue` (issue 12 item 6). RFC 9110 §15.2: "A client MUST be
// able to parse one or more 1xx responses received prior to a final response, even if the client
// does not expect one", and RFC 9110 §10.1.1 lets a server send 100 to a request without
// `Expect` (some app servers do, on every POST). undici's HTTP/1.1 client destroys the
// connection on any 100 (lib/dispatcher/client-h1.js onHeadersComplete, since nodejs/undici#201),
// which Turnout would answer with a 502. undici handles every other 1xx (103 Early Hints, …).
//
// Turnout does as nginx does: Node's server answers the client's `Expect: 100-continue` itself
// (http.Server without a 'checkContinue' listener), `Expect` is hop-by-hop and never forwarded
// (src/proxy/headers.ts), and an upstream's interim 100 is dropped here before undici's parser
// sees it. The final response is relayed as usual.
//
// How: a connector wrapper that patches the two methods undici uses on each HTTP/1.1 socket.
// undici writes every request head as one latin1 string starting with the method, and all its
// other string writes (chunk framing) start with CRLF; with pipelining 1 the previous response
// has ended before the next head is written. So a head write arms the filter, and the first
// bytes read while armed start that request's response: `HTTP/1.x 100 …\r\n\r\n` blocks there are
// skipped (held across reads until complete), any other status line disarms it. Disarmed, each
// read costs one boolean test; a head write one character test.
import type { Socket } from 'node:net';
import { buildConnector } from 'undici';

const kArmed = Symbol('turnout.continueArmed');
const kHeld = Symbol('turnout.continueHeld');

/**
 * An interim block longer than this is not held any longer: undici then parses it (and fails on
 * it, as before), so an upstream cannot make Turnout buffer an endless header block. Node's and
 * undici's default header limit.
 */
const MAX_HELD = 16 * 1024;

type FilteredSocket = Socket & { [kArmed]: boolean; [kHeld]: Buffer | undefined };

/** `HTTP/1.1 100 ` (or HTTP/1.0): the start of a 100 Continue status line. */
function isContinueLine(buf: Buffer): boolean {
  return (
    buf[0] === 0x48 && buf[1] === 0x54 && buf[2] === 0x54 && buf[3] === 0x50 && buf[4] === 0x2f && buf[5] === 0x31 && buf[6] === 0x2e &&
    (buf[7] === 0x31 || buf[7] === 0x30) && buf[8] === 0x20 && buf[9] === 0x31 && buf[10] === 0x30 && buf[11] === 0x30 && (buf[12] === 0x20 || buf[12] === 0x0d)
  );
}

/** `rest`: the bytes after any leading 100 Continue blocks; `done: false` while a 100 may still be arriving. */
export function skipContinue(data: Buffer): { rest: Buffer; done: boolean } {
  let buf = data;
  for (;;) {
    if (buf.length < 13) {
      // Too short to tell: hold it if it could still become a 100 status line.
      const probe = Buffer.from('HTTP/1.1 100 ');
      const maybe = buf.length > 0 && (buf.equals(probe.subarray(0, buf.length)) || buf.equals(Buffer.from('HTTP/1.0 100 ').subarray(0, buf.length)));
      return maybe ? { rest: buf, done: false } : { rest: buf, done: true };
    }
    if (!isContinueLine(buf)) return { rest: buf, done: true };
    const end = buf.indexOf('\r\n\r\n');
    if (end === -1) return { rest: buf, done: false };
    buf = buf.subarray(end + 4);
    if (buf.length === 0) return { rest: buf, done: false };
  }
}

function read(this: FilteredSocket, original: Socket['read'], size?: number): ReturnType<Socket['read']> {
  const chunk = original.call(this, size) as Buffer | null;
  if (!this[kArmed] || chunk === null) return chunk;
  const held = this[kHeld];
  const data = held === undefined ? chunk : Buffer.concat([held, chunk]);
  const r = skipContinue(data);
  if (!r.done && r.rest.length <= MAX_HELD) {
    // Wait for more bytes; undici's reader stops at null and resumes on the next 'readable'.
    this[kHeld] = r.rest.length > 0 ? Buffer.from(r.rest) : undefined;
    return null;
  }
  this[kArmed] = false;
  this[kHeld] = undefined;
  return r.rest;
}

/** Makes an HTTP/1.1 upstream socket skip interim 100 responses before undici parses them. */
export function filterInterimContinue(socket: Socket): void {
  const s = socket as FilteredSocket;
  s[kArmed] = false;
  s[kHeld] = undefined;
  const originalRead = socket.read;
  const originalWrite = socket.write;
  socket.read = function (this: FilteredSocket, size?: number) {
    return read.call(this, originalRead, size);
  } as Socket['read'];
  socket.write = function (this: FilteredSocket, chunk: unknown, ...rest: unknown[]) {
    // A request head: a string whose first character is a method's (A–Z).
    if (typeof chunk === 'string') {
      const c = chunk.charCodeAt(0);
      if (c >= 0x41 && c <= 0x5a) this[kArmed] = true;
    }
    return (originalWrite as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as Socket['write'];
}

/** undici's own connector (same options), with filterInterimContinue on every HTTP/1.1 socket. */
export function continueTolerantConnector(options: buildConnector.BuildOptions): buildConnector.connector {
  const connect = buildConnector(options);
  return (opts, callback) =>
    connect(opts, (err, socket) => {
      // An HTTP/2 session reads the socket natively and has no such problem.
      if (err === null && (socket as { alpnProtocol?: string | false }).alpnProtocol !== 'h2') filterInterimContinue(socket as Socket);
      (callback as (err: Error | null, socket: unknown) => void)(err, socket);
    });
}
