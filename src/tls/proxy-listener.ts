// A TLS proxy listener (`listen.tls`, `preview.tls`): the same data plane as proxy/listener.ts
// behind TLS, with HTTP/2 beside HTTP/1.1 when `http2` is on. HTTP/1.1 connections get the same
// client timeouts, slow-client defences, upgrade filter (shouldUpgrade) and clientError answers
// as the plain listener; HTTP/2 requests are translated (h2-request.ts), go through the very
// same handleRequest, and get the slow-client defences per stream (slow-clients.ts).
import http from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2';
import type { TimeoutsConfig } from '../config/types.ts';
import { ERRORS, errorBody } from '../errors.ts';
import type { DataPlane } from '../proxy/data-plane.ts';
import { answerClientError } from '../proxy/listener.ts';
import { armBodyTimeout } from '../proxy/slow-clients.ts';
import { asHttp1Request, cutOffWhenAborted } from './h2-request.ts';
import { ProxyH2Response } from './h2-response.ts';
import { armH2BodyTimeout, watchStalledTlsReaders, type TlsStallSweeps } from './slow-clients.ts';
import { createSecureServer, type SecureServerOptions, type TlsListener } from './secure-server.ts';

export function createTlsProxyListener(
  handlers: DataPlane,
  timeouts: TimeoutsConfig,
  options: SecureServerOptions,
): TlsListener {
  const { handleRequest } = handlers;
  // Set once the server exists (below); requests arrive only after listen.
  let stalls: TlsStallSweeps;
  /** This listener's HTTP/2 responses: a write that meets backpressure enters the stall sweep. */
  class ListenerResponse extends ProxyH2Response {
    override write(chunk: string | Uint8Array, a?: BufferEncoding | ((err: Error) => void), b?: (err: Error) => void): boolean {
      const ok = super.write(chunk, a as BufferEncoding, b);
      if (!ok) stalls.streams.add(this.stream, performance.now());
      return ok;
    }
  }
  /** An HTTP/2 request, one turn of the event loop after its HEADERS (see below). */
  const startH2 = (req: Http2ServerRequest, res: Http2ServerResponse): void => {
    // Reset by the client meanwhile: nobody to answer, nothing to send upstream.
    if (req.stream.destroyed || req.stream.closed) return;
    // The header size limit of HTTP/1.1 (node:http's maxHeaderSize, 16 KiB, → 431 there via
    // HPE_HEADER_OVERFLOW) holds over HTTP/2 too; lists beyond SETTINGS_MAX_HEADER_LIST_SIZE
    // never get here (nghttp2 ends the session: COMPRESSION_ERROR).
    if (asHttp1Request(req) > maxHeaderSize) return tooLarge(res);
    // Slow bodies (timeouts.clientBodyMs) and stalled readers (timeouts.sendMs), per stream.
    armH2BodyTimeout(req, res as unknown as ProxyH2Response, timeouts.clientBodyMs);
    // Node's compat request/response carry every member the data plane and Exchange use:
    // url, method, headers, rawHeaders, complete, resume(), socket.remoteAddress, the Readable
    // body; writeHead(status, flat array), write/end, 'drain', 'close', headersSent,
    // writableFinished (made exact in h2-response.ts), destroy(). test/tls/ runs each over h2.
    handleRequest(req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse);
  };
  // Rapid reset (CVE-2023-44487) sends HEADERS and RST_STREAM in one packet: node emits the
  // request while nghttp2 is still reading, before the reset. Starting the exchanges after the
  // read (one setImmediate for every request that arrived meanwhile: a client sends its streams
  // several to a packet) lets those streams be seen closed, so a reset burst costs no upstream
  // request; nghttp2's reset rate limit then ends the session.
  let pending: (Http2ServerRequest | Http2ServerResponse)[] = [];
  const startPending = (): void => {
    const batch = pending;
    pending = [];
    for (let i = 0; i < batch.length; i += 2) startH2(batch[i] as Http2ServerRequest, batch[i + 1] as Http2ServerResponse);
  };
  const listener = createSecureServer({ ...options, responseClass: ListenerResponse }, (req, res) => {
    if (req.httpVersionMajor === 2) {
      cutOffWhenAborted(req as Http2ServerRequest);
      if (pending.length === 0) setImmediate(startPending);
      pending.push(req as Http2ServerRequest, res as Http2ServerResponse);
    } else {
      // Slow bodies (timeouts.clientBodyMs), as on the plain listener (proxy/slow-clients.ts).
      armBodyTimeout(req as http.IncomingMessage, res as http.ServerResponse, timeouts.clientBodyMs, timeouts.clientIdleMs);
      handleRequest(req as http.IncomingMessage, res as http.ServerResponse);
    }
  });
  const server = listener.server;
  stalls = watchStalledTlsReaders(server, timeouts.sendMs);
  // Only allowed upgrades (websocket, GET, proxy.upgradeProtocols) reach 'upgrade'; others are
  // plain requests (data-plane.ts, proxy/upgrade.ts). node:http reads the callback off the
  // server per request, for node:https and for node:http2's HTTP/1.1 connections alike.
  // A property, not the option: node:http2's constructor (allowHTTP1) overwrites the option with
  // its default (tunnel whatever has an 'upgrade' listener). @types/node has only the option.
  (server as unknown as { shouldUpgradeCallback: (req: http.IncomingMessage) => boolean }).shouldUpgradeCallback = handlers.shouldUpgrade;

  // HTTP/1.1 connections: the limits of proxy/listener.ts (node:http2 reads them from its server
  // for allowHTTP1 connections, node:https from its own).
  const h1 = server as unknown as http.Server;
  h1.headersTimeout = Math.min(30_000, timeouts.clientIdleMs);
  h1.requestTimeout = 300_000;
  h1.keepAliveTimeout = timeouts.clientIdleMs;
  // How often node checks headersTimeout/requestTimeout (default 30 s, which would let a
  // slowloris head live up to 30 s past headersTimeout); read when the server starts listening.
  (h1 as http.Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = 1_000;
  // Also the HTTP/2 session idle timeout: a session without frames for clientIdleMs is closed.
  server.setTimeout(timeouts.clientIdleMs);
  server.on('upgrade', handlers.handleUpgrade);
  server.on('clientError', answerClientError);
  // A session that errs (a flood, a protocol error) is the client's problem: node:http2 destroys
  // it; without a listener nothing else happens, so this only keeps that explicit.
  server.on('sessionError', (_err: Error, session: Http2Session) => session.destroy());
  return listener;
}

const { maxHeaderSize } = http;

function tooLarge(res: Http2ServerResponse): void {
  const body = errorBody('TURNOUT_ERR_TOO_MANY_HEADERS', `header fields larger than ${maxHeaderSize} bytes`);
  res.writeHead(ERRORS.TURNOUT_ERR_TOO_MANY_HEADERS.statusCode, ['content-type', 'application/json; charset=utf-8', 'content-length', String(Buffer.byteLength(body))]);
  res.end(body);
}
