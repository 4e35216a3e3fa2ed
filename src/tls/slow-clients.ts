// The plain listener's slow-client defences (proxy/slow-clients.ts, issue 12) on a TLS listener.
//
// - HTTP/1.1 over TLS: the stall sweep must watch the TLSSocket ('secureConnection'), not the
//   TCP socket of 'connection': once TLS wraps it, every write goes through the TLSSocket, whose
//   buffer fills when the client stops reading; the raw socket never reports a pending write.
//   The body idle timeout is proxy/slow-clients.ts's armBodyTimeout, unchanged.
// - HTTP/2: a session's socket belongs to nghttp2 (node consumes it natively), so one client's
//   sweep unit is the stream. A stream whose answer waits on a client that stopped reading
//   (no WINDOW_UPDATE, or nothing read off the TCP socket at all) keeps its data in its own
//   writable buffer: writableNeedDrain stays true and writableLength stops shrinking. Such a
//   stream is reset (RST_STREAM CANCEL, and torn down at once) after sendMs, which cancels its
//   upstream request; the session and its other streams go on. Only streams that met
//   backpressure are watched, so an ordinary request pays nothing for this. The body idle timeout is the stream's own timeout
//   (activity on that stream only), answered with 408 on the stream (h2-response.ts).
import type http from 'node:http';
import { constants as h2, type Http2SecureServer, type Http2ServerRequest } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { errorBody, ERRORS } from '../errors.ts';
import { StallSweep } from '../proxy/slow-clients.ts';
import type { ProxyH2Response } from './h2-response.ts';

/** What the stream sweep reads of an h2 stream (an Http2Stream; plain objects in tests). */
export interface SweptStream {
  readonly writableNeedDrain: boolean;
  readonly writableLength: number;
  readonly destroyed: boolean;
  close(code: number): void;
  destroy(): void;
}

/**
 * The HTTP/2 streams whose answer met backpressure, until they drain or close. A stream joins
 * only when a write to it returns false (ListenerResponse in proxy-listener.ts), so the usual
 * request, answered without backpressure, costs the sweep nothing; a drained or closed stream
 * leaves on the next pass. Bounded by the streams in flight (sessions × 100).
 */
export class StreamStallSweep {
  readonly sendMs: number;
  /** stream → when first seen stalled with `length` bytes buffered. */
  private readonly streams = new Map<SweptStream, { since: number; length: number }>();
  /** Streams reset since start. */
  destroyed = 0;

  constructor(sendMs: number) {
    this.sendMs = sendMs;
  }

  get size(): number {
    return this.streams.size;
  }

  /** A write to `stream` returned false at `now` (ms). */
  add(stream: SweptStream, now: number): void {
    if (!this.streams.has(stream)) this.streams.set(stream, { since: now, length: stream.writableLength });
  }

  /** One pass at `now` (ms). */
  sweep(now: number): void {
    for (const [stream, state] of this.streams) {
      if (stream.destroyed || !stream.writableNeedDrain) {
        this.streams.delete(stream);
        continue;
      }
      // A stream has no bytesWritten; while it needs a drain the exchange writes nothing more
      // (backpressure), so a change of its buffered length means nghttp2 took data: the
      // client is reading.
      const length = stream.writableLength;
      if (length !== state.length) {
        state.since = now;
        state.length = length;
        continue;
      }
      if (now - state.since >= this.sendMs) {
        this.streams.delete(stream);
        this.destroyed++;
        // RST_STREAM(CANCEL), and the stream torn down here and now: close() alone waits until
        // nghttp2 has sent the reset, which a client that reads nothing never lets happen.
        stream.close(h2.NGHTTP2_CANCEL);
        stream.destroy();
      }
    }
  }
}

export interface TlsStallSweeps {
  /** HTTP/1.1 connections (TLSSockets). */
  readonly sockets: StallSweep;
  readonly streams: StreamStallSweep;
}

/** Stall sweeps over a TLS server's HTTP/1.1 connections and HTTP/2 streams, a few passes per sendMs. */
export function watchStalledTlsReaders(server: http.Server | Http2SecureServer, sendMs: number): TlsStallSweeps {
  const sockets = new StallSweep(sendMs);
  const streams = new StreamStallSweep(sendMs);
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.alpnProtocol === 'h2') return; // its streams are swept instead
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const interval = Math.max(50, Math.min(1000, Math.floor(sendMs / 4)));
  const timer = setInterval(() => {
    const now = performance.now();
    sockets.sweep(now);
    streams.sweep(now);
  }, interval).unref();
  server.once('close', () => clearInterval(timer));
  return { sockets, streams };
}

/**
 * timeouts.clientBodyMs for an HTTP/2 request with a body: while it arrives, its stream may be
 * idle (no frame either way) for at most bodyMs; then 408 on the stream, and its close cancels
 * the upstream request. After the body, the stream has no timeout of its own again (the
 * session's idle timeout, timeouts.clientIdleMs, still holds).
 */
export function armH2BodyTimeout(req: Http2ServerRequest, res: ProxyH2Response, bodyMs: number): void {
  const stream = req.stream;
  if (stream.endAfterHeaders || req.complete) return;
  if (req.headers['content-length'] === '0') return;
  stream.setTimeout(bodyMs, () => {
    const body = errorBody('TURNOUT_ERR_REQUEST_TIMEOUT', 'the request body stopped arriving');
    res.answerInstead(ERRORS.TURNOUT_ERR_REQUEST_TIMEOUT.statusCode, body);
  });
  req.once('end', () => {
    if (!stream.destroyed) stream.setTimeout(0);
  });
}
