// Tolerating an upstream's `100 Continue` (issue 12 item 6). RFC 9110 §15.2: "A client MUST be
// able to parse one or more 1xx responses received prior to a final response, even if the client
// does not expect one", and RFC 9110 §10.1.1 lets a server send 100 to a request without
// `Expect` (some app servers do, on every POST). undici's HTTP/1.1 client destroys the
// connection on any 100 (lib/dispatcher/client-h1.js onHeadersComplete, since nodejs/undici#201),
// which Turnout would answer with a 502. undici handles every other 1xx (103 Early Hints, …).
//
// Turnout does as nginx does: Node's server answers the client's `Expect: 100-continue` itself
// (http.Server without a 'checkContinue' listener), `Expect` is hop-by-hop and never forwarded
// (src/proxy/headers.ts), and an upstream's interim 100 is skipped here. The final response is
// relayed as usual.
//
// How: undici's HTTP/1.1 parser (llhttp) already parses an interim 100 as a complete message
// without a body; only undici's Parser.onHeadersComplete refuses it. The connector below finds
// that class on the first HTTP/1.1 connection (its instance is socket[kParser], from
// undici/lib/core/symbols.js) and wraps its onHeadersComplete once: a 100 with a request in
// flight takes the path undici's own code takes for any other 1xx, without telling the handler
// (it never asked for one), and llhttp then reads the final response as usual. Every 1xx limit
// stays llhttp's: an endless interim block overflows maxHeaderSize and fails as before.
//
// Why the parser and not the socket: an earlier version replaced `read` and `write` on each
// upstream socket. Those own properties gave upstream sockets one more hidden class, which
// pushed shared sites in node:net, node:stream and undici (Duplex's `destroyed` getter, called
// ten times a request) past V8's four-map polymorphism limit into megamorphic lookups: about
// 5,000 instructions per request, 3 % of the proxy's work (bench/micro/proxy-callgrind.sh).
// The wrapper adds one call per response header block and nothing per socket.
import { createRequire } from 'node:module';
import { buildConnector } from 'undici';

const require = createRequire(import.meta.url);
const symbols = require('undici/lib/core/symbols.js') as Record<'kParser' | 'kQueue' | 'kRunningIdx' | 'kRunning', symbol>;
const { kParser, kQueue, kRunningIdx, kRunning } = symbols;

/** The fields of undici's Parser (lib/dispatcher/client-h1.js) the 1xx path touches. */
interface UndiciParser {
  client: Record<symbol, unknown>;
  socket: { destroyed: boolean };
  statusCode: number;
  headers: unknown[];
  headersSize: number;
  timeout: { refresh?: () => void } | null;
  onHeadersComplete(statusCode: number, upgrade: boolean, shouldKeepAlive: boolean): number;
}

let patched: object | undefined;

/** Wraps the Parser class's onHeadersComplete so that a 100 is skipped like other 1xx answers. */
function tolerateContinue(proto: UndiciParser): void {
  if (patched === proto) return;
  patched = proto;
  const onHeadersComplete = proto.onHeadersComplete;
  proto.onHeadersComplete = function (this: UndiciParser, statusCode: number, upgrade: boolean, shouldKeepAlive: boolean): number {
    if (statusCode !== 100 || this.socket.destroyed) return onHeadersComplete.call(this, statusCode, upgrade, shouldKeepAlive);
    const client = this.client;
    // A 100 with no request waiting for an answer is a broken upstream: undici's error path.
    if (client[kRunning] === 0 || (client[kQueue] as unknown[])[client[kRunningIdx] as number] == null) {
      return onHeadersComplete.call(this, statusCode, upgrade, shouldKeepAlive);
    }
    // As undici does for a 1xx: keep the status for onMessageComplete (which resets the parser
    // and waits for the next response), drop the interim fields, refresh the headers timer, and
    // return 1 (llhttp: no body follows).
    this.statusCode = statusCode;
    this.headers = [];
    this.headersSize = 0;
    this.timeout?.refresh?.();
    return 1;
  };
}

/** undici's own connector (same options); on the first HTTP/1.1 socket, tolerateContinue on undici's parser. */
export function continueTolerantConnector(options: buildConnector.BuildOptions): buildConnector.connector {
  const connect = buildConnector(options);
  return (opts, callback) =>
    connect(opts, (err, socket) => {
      (callback as (err: Error | null, socket: unknown) => void)(err, socket);
      // undici made the socket's parser inside the callback; no response has been read yet.
      if (err === null && patched === undefined) {
        const parser = (socket as unknown as Record<symbol, object | undefined>)[kParser];
        if (parser !== undefined && parser !== null) tolerateContinue(Object.getPrototypeOf(parser) as UndiciParser);
      }
    });
}
