// HTTP/2 requests in HTTP/1.1 terms, so the data plane forwards them unchanged to HTTP/1.1
// upstreams (RFC 9113 §8.3, §8.2.2). Node's compat request keeps its pseudo-headers in `headers`
// (`url` and `method` read `:path` and `:method` from there), so they stay; forwardRequestHeaders
// drops every `:` name. What has to be added for the HTTP/1.1 hop is added here:
// - Host from `:authority` (RFC 9113 §8.3.1: an intermediary converting to HTTP/1.1 creates Host
//   from it, replacing a Host field that would disagree).
// - A body without content-length (HTTP/2 frames it with DATA and END_STREAM) goes upstream
//   chunked: marking it `transfer-encoding: chunked` makes the data plane stream it; the
//   marker itself is hop-by-hop and is not forwarded (undici frames the stream as chunked).
// Connection-specific fields (Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding,
// Upgrade, TE other than `trailers`) make nghttp2 reset the stream as malformed (§8.2.2) before
// a request exists; `te: trailers` is dropped as hop-by-hop. Cookie fields split per RFC 9113
// §8.2.3 arrive joined with "; " (Node does it).
import type { Http2ServerRequest, Http2Stream } from 'node:http2';

/**
 * Translates in place; returns the decoded size of the client's fields (names and values, as
 * node:http's maxHeaderSize counts for HTTP/1.1) so the caller can answer 431 over the same limit.
 */
export function asHttp1Request(req: Http2ServerRequest): number {
  // proxy.maxHeaders counts the client's fields, as over HTTP/1.1: the pseudo-headers, which
  // come first (RFC 9113 §8.3), leave rawHeaders.
  const raw = req.rawHeaders;
  let pseudo = 0;
  while (pseudo < raw.length && raw[pseudo]!.charCodeAt(0) === 0x3a) pseudo += 2;
  if (pseudo > 0) raw.splice(0, pseudo);
  let size = 0;
  for (let i = 0; i < raw.length; i++) size += raw[i]!.length;
  const headers = req.headers;
  const authority = headers[':authority'];
  if (authority !== undefined) headers.host = authority;
  if (headers['content-length'] === undefined && !req.stream.endAfterHeaders) headers['transfer-encoding'] = 'chunked';
  return size;
}

/**
 * A client that resets its stream mid-body with RST_STREAM(NO_ERROR): node ends the request
 * body as if it were whole (lib/internal/http2/core.js onStreamClose pushes EOF for a NO_ERROR
 * close), before the response's close reaches the exchange. The upstream would get a short body
 * as a complete request (chunked), or undici a length mismatch that counts against the target
 * (content-length). Destroying the stream when it is aborted (emitted first, while the request
 * is still open) takes node's other path: no EOF, the close reaches the exchange as a hang-up,
 * and the upstream request is cancelled, as for an HTTP/1.1 client that hangs up mid-body.
 */
export function cutOffWhenAborted(req: Http2ServerRequest): void {
  if (!req.stream.endAfterHeaders) req.stream.once('aborted', destroyStream);
}

function destroyStream(this: Http2Stream): void {
  this.destroy();
}
