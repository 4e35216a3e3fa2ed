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
//   upstream request; the session and its other streams go on. The body idle timeout is the stream's own timeout
//   (activity on that stream only), answered with 408 on the stream (h2-response.ts).
import type http from 'node:http';
import { constants as h2, type Http2SecureServer, type Http2Stream, type Http2ServerRequest } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { errorBody, ERRORS } from '../errors.ts';
import { StallSweep, type SweptSocket } from '../proxy/slow-clients.ts';
import type { ProxyH2Response } from './h2-response.ts';

/** An h2 stream as the sweep sees it: "progress" is its buffered output shrinking. */
class SweptStream implements SweptSocket {
  readonly stream: Http2Stream;
  constructor(stream: Http2Stream) {
    this.stream = stream;
  }
  get writableNeedDrain(): boolean {
    return this.stream.writableNeedDrain;
  }
  /**
   * The sweep restarts its clock whenever this changes. A stream has no bytesWritten; while it
   * needs a drain the exchange writes nothing more (backpressure), so a change of its buffered
   * length means nghttp2 took data: the client is reading.
   */
  get bytesWritten(): number {
    return this.stream.writableLength;
  }
  /**
   * RST_STREAM(CANCEL), and the stream torn down here and now: close() alone waits until nghttp2
   * has sent the reset, which a client that reads nothing never lets happen.
   */
  destroy(): void {
    this.stream.close(h2.NGHTTP2_CANCEL);
    this.stream.destroy();
  }
}

export interface TlsStallSweep {
  readonly sweep: StallSweep;
  /** Watches one HTTP/2 request's stream until it closes. */
  addStream(stream: Http2Stream): void;
}

/** A StallSweep over a TLS server's HTTP/1.1 connections and HTTP/2 streams, a few passes per sendMs. */
export function watchStalledTlsReaders(server: http.Server | Http2SecureServer, sendMs: number): TlsStallSweep {
  const sweep = new StallSweep(sendMs);
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.alpnProtocol === 'h2') return; // its streams are swept instead
    sweep.add(socket);
    socket.once('close', () => sweep.delete(socket));
  });
  const interval = Math.max(50, Math.min(1000, Math.floor(sendMs / 4)));
  const timer = setInterval(() => sweep.sweep(performance.now()), interval).unref();
  server.once('close', () => clearInterval(timer));
  return {
    sweep,
    addStream(stream) {
      const swept = new SweptStream(stream);
      sweep.add(swept);
      stream.once('close', () => sweep.delete(swept));
    },
  };
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
