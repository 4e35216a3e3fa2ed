// Client-side timeouts against slow clients (issue 12), applied by the proxy listener:
//
// - Body idle (`timeouts.clientBodyMs`, like nginx's `client_body_timeout`): while a request
//   body is arriving, the socket's idle timeout is clientBodyMs instead of clientIdleMs; a body
//   that sends nothing for that long gets 408 and its connection closed, which cancels the
//   upstream request (exchange.ts) and frees the upstream connection it held.
// - Send (`timeouts.sendMs`, like nginx's `send_timeout`): Turnout streams answers with
//   backpressure, so a client that stops reading keeps its upstream connection paused and
//   busy. A socket whose buffered output has not drained for sendMs, with nothing new
//   written, is destroyed. Node's socket timeout cannot tell this apart from an idle keep-alive
//   connection, so a sweep checks every connection a few times per sendMs (public API only:
//   `writableNeedDrain` and `bytesWritten`), the way Node's own connectionsCheckingInterval
//   sweeps for headersTimeout and requestTimeout.
import type http from 'node:http';
import type { Socket } from 'node:net';
import { errorBody, ERRORS } from '../errors.ts';

/** What the stall sweep reads of a socket (a net.Socket; plain objects in tests). */
export interface SweptSocket {
  readonly writableNeedDrain: boolean;
  readonly bytesWritten: number;
  destroy(): void;
}

interface StallState {
  /** When the socket was first seen needing a drain with `bytes` written; 0: not stalled. */
  since: number;
  bytes: number;
}

/** Tracks connections and destroys those whose output stayed undrained for `sendMs`. */
export class StallSweep {
  readonly sendMs: number;
  private readonly sockets = new Map<SweptSocket, StallState>();
  /** Connections destroyed since start. */
  destroyed = 0;

  constructor(sendMs: number) {
    this.sendMs = sendMs;
  }

  add(socket: SweptSocket): void {
    this.sockets.set(socket, { since: 0, bytes: 0 });
  }

  delete(socket: SweptSocket): void {
    this.sockets.delete(socket);
  }

  get size(): number {
    return this.sockets.size;
  }

  /** One pass at time `now` (ms). */
  sweep(now: number): void {
    for (const [socket, state] of this.sockets) {
      if (!socket.writableNeedDrain) {
        state.since = 0;
        continue;
      }
      const bytes = socket.bytesWritten;
      if (state.since === 0 || bytes !== state.bytes) {
        // Newly stalled, or it drained and was written to again since the last pass.
        state.since = now;
        state.bytes = bytes;
        continue;
      }
      if (now - state.since >= this.sendMs) {
        this.sockets.delete(socket);
        this.destroyed++;
        socket.destroy();
      }
    }
  }
}

/** Runs a StallSweep over every connection of `server`, a few times per sendMs. */
export function watchStalledReaders(server: http.Server, sendMs: number): StallSweep {
  const sweep = new StallSweep(sendMs);
  server.on('connection', (socket: Socket) => {
    sweep.add(socket);
    socket.once('close', () => sweep.delete(socket));
  });
  const interval = Math.max(50, Math.min(1000, Math.floor(sendMs / 4)));
  const timer = setInterval(() => sweep.sweep(performance.now()), interval).unref();
  server.once('close', () => clearInterval(timer));
  return sweep;
}

function bodyTimedOut(req: http.IncomingMessage, res: http.ServerResponse): void {
  const socket = req.socket;
  if (!res.headersSent && socket.writable) {
    // 408 (RFC 9110 §15.5.9) on the raw socket: the exchange may still be waiting for the
    // upstream, and its ServerResponse must not be written twice. Closing the socket fires the
    // response's `close`, which cancels the upstream request.
    const body = errorBody('TURNOUT_ERR_REQUEST_TIMEOUT', 'the request body stopped arriving');
    const { statusCode, error } = ERRORS.TURNOUT_ERR_REQUEST_TIMEOUT;
    socket.write(`HTTP/1.1 ${statusCode} ${error}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    socket.destroySoon();
    return;
  }
  socket.destroy();
}

/** While `req`'s body arrives, its connection's idle timeout is `bodyMs`; see the file comment. */
export function armBodyTimeout(req: http.IncomingMessage, res: http.ServerResponse, bodyMs: number, idleMs: number): void {
  if (req.complete) return;
  const length = req.headers['content-length'];
  const hasBody = length !== undefined ? length !== '0' : req.headers['transfer-encoding'] !== undefined;
  if (!hasBody) return;
  // Closures, not properties on req: only requests with a body pay, and req keeps its shape.
  // IncomingMessage.setTimeout sets the socket's; Node emits `timeout` on the request while it
  // is incomplete, and with a listener there it leaves the socket to us.
  req.setTimeout(bodyMs, () => bodyTimedOut(req, res));
  // Back to the connection's idle timeout once the whole body is in.
  req.once('end', () => {
    if (!req.socket.destroyed) req.socket.setTimeout(idleMs);
  });
}
