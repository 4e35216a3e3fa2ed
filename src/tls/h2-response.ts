// The HTTP/2 response class of a TLS proxy listener (node:http2's `Http2ServerResponse` option).
// HTTP/1.1 upstreams may repeat a field that node:http2 allows once (etag, content-type, date,
// location, …: its list of singleton fields, RFC 9110 §5.3): node:http2 would throw from
// writeHead and reset the stream for an answer HTTP/1.1 clients get whole. Here the first value
// of such a field is kept and the repeats are dropped, as a client reading the HTTP/1.1 answer
// uses the first. Connection-specific fields never go out (RFC 9113 §8.2.2). (Retrying after the throw cannot work: the failed attempt's fields stay, and
// removeHeader('date') only turns sendDate off.)
import { Http2ServerResponse, constants as h2 } from 'node:http2';
import type { OutgoingHttpHeaders } from 'node:http';

/** node's lib/internal/http2/util.js kSingleValueHeaders, without the pseudo-headers. */
const SINGLE_VALUE = new Set([
  'access-control-allow-credentials', 'access-control-max-age', 'access-control-request-method', 'age', 'authorization',
  'content-encoding', 'content-language', 'content-length', 'content-location', 'content-md5', 'content-range',
  'content-type', 'date', 'dnt', 'etag', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match',
  'if-range', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'range',
  'referer', 'retry-after', 'tk', 'upgrade-insecure-requests', 'user-agent', 'x-content-type-options',
]);

export class ProxyH2Response extends Http2ServerResponse {
  override writeHead(statusCode: number, headers?: OutgoingHttpHeaders | readonly string[]): this;
  override writeHead(statusCode: number, statusMessage: string, headers?: OutgoingHttpHeaders | readonly string[]): this;
  override writeHead(statusCode: number, a?: unknown, b?: unknown): this {
    let headers = (b ?? a) as OutgoingHttpHeaders | string[] | undefined;
    if (Array.isArray(headers)) headers = firstOfEach(headers) as string[];
    else if (headers !== undefined && 'connection' in headers) {
      // The data plane's refusals say `connection: close` for HTTP/1.1; over HTTP/2 the field is
      // forbidden (RFC 9113 §8.2.2) and node would drop it with a process warning.
      const { connection: _dropped, ...rest } = headers;
      headers = rest;
    }
    return super.writeHead(statusCode, headers as OutgoingHttpHeaders);
  }

  /**
   * The HTTP/2 form of answering on the raw socket (proxy/slow-clients.ts, failure.ts): `status`
   * and `body` go out on the stream itself, whatever the exchange holding this response is
   * doing, then RST_STREAM(CANCEL) once node has taken the answer ('finish', when node itself
   * would send a NO_ERROR reset). Not NO_ERROR (RFC 9113 §8.1 allows it): node ends the request
   * body normally on a NO_ERROR close, and the exchange would forward a short body as if whole;
   * on CANCEL it destroys the stream, whose close reaches the exchange first, as a client
   * hang-up (writableFinished is false: the response itself was never ended), which cancels
   * the upstream request.
   */
  answerInstead(status: number, body: string): void {
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    if (this.headersSent) {
      stream.close(h2.NGHTTP2_CANCEL);
      return void stream.destroy();
    }
    this.statusCode = status;
    // The upstream's answer may still arrive before the stream's close has cancelled it: its
    // writes go nowhere, as node:http drops writes to a destroyed socket. Instance methods, set
    // only here, so the usual response pays nothing for them.
    this.writeHead = () => this;
    this.write = () => true;
    this.end = () => this;
    stream.respond({ ':status': status, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    stream.end(body, () => stream.close(h2.NGHTTP2_CANCEL));
  }
}

// node's compat response says writableFinished as soon as the stream is destroyed, also when the
// client reset it before the answer was ended: Exchange.clientClosed would then take a reset for a
// normal end, never cancel the upstream request and wait for a 'drain' that never comes, holding
// an upstream connection (a rapid-reset burst wedged every connection of the pool that way).
// Finished means ended by us and flushed, as in node:http. (A property in @types, so defined here.)
const finished = Object.getOwnPropertyDescriptor(Http2ServerResponse.prototype, 'writableFinished')!.get!;
Object.defineProperty(ProxyH2Response.prototype, 'writableFinished', {
  configurable: true,
  get(this: ProxyH2Response): boolean {
    return this.writableEnded && (finished.call(this) as boolean);
  },
});

/** The single-value names firstOfEach has seen in the current call (reused: it is synchronous). */
const seen: string[] = [];

/** The flat header list without repeats of single-value fields; the same array when there are none. */
export function firstOfEach(headers: readonly string[]): readonly string[] {
  // Nearly every answer has a few single-value fields (content-type, content-length, date) and
  // almost none repeats one: a short linear scan, no Set per response (a Set's clear() allocates
  // a new table too).
  let count = 0;
  let out: string[] | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!.toLowerCase();
    if (SINGLE_VALUE.has(name)) {
      let repeat = false;
      for (let j = 0; j < count; j++) {
        if (seen[j] === name) {
          repeat = true;
          break;
        }
      }
      if (repeat) {
        out ??= headers.slice(0, i);
        continue;
      }
      seen[count++] = name;
    }
    out?.push(headers[i]!, headers[i + 1]!);
  }
  return out ?? headers;
}
