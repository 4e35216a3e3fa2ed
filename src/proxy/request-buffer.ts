// Small request bodies read whole before an upstream connection is taken (off by default:
// `proxy.requestBufferBytes: 0`). Like nginx's `proxy_request_buffering on`, bounded: a body
// whose Content-Length is at most requestBufferBytes is read into memory first, so a client
// that trickles it (slowhttptest -B, R-U-Dead-Yet) holds a socket and a few KB here but never
// an upstream connection; larger or chunked bodies stream as before. All buffered bodies
// together stay within a budget (1024 × requestBufferBytes); a body that does not fit streams.
// The body idle timeout (timeouts.clientBodyMs, slow-clients.ts) ends a trickle either way.
import type { IncomingMessage } from 'node:http';

/** Bytes all buffered bodies may hold at once. */
export class BodyBudget {
  readonly total: number;
  private used = 0;

  constructor(total: number) {
    this.total = total;
  }

  tryTake(bytes: number): boolean {
    if (this.used + bytes > this.total) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used -= bytes;
  }

  get inUse(): number {
    return this.used;
  }
}

/** The body length to buffer for `req`, or 0 when it should stream (or has no body). */
export function bufferableLength(req: IncomingMessage, limit: number): number {
  if (limit === 0 || req.headers['transfer-encoding'] !== undefined) return 0;
  const header = req.headers['content-length'];
  if (header === undefined) return 0;
  const length = Number(header); // llhttp already refused a malformed Content-Length
  return length > 0 && length <= limit ? length : 0;
}

/**
 * Reads `length` bytes of `req` (budget already taken), then calls `onBody` with them. A client
 * that hangs up first gives the budget back and nothing is sent.
 */
export function bufferBody(req: IncomingMessage, length: number, budget: BodyBudget, onBody: (body: Buffer) => void): void {
  const body = Buffer.allocUnsafe(length);
  let offset = 0;
  let settled = false;
  const settle = () => {
    if (settled) return false;
    settled = true;
    budget.give(length);
    return true;
  };
  req.on('data', (chunk: Buffer) => {
    // llhttp frames the body by Content-Length, so chunks never exceed it; copy defensively.
    offset += chunk.copy(body, offset);
  });
  req.once('end', () => {
    if (settle()) onBody(offset === length ? body : body.subarray(0, offset));
  });
  req.once('close', settle);
}
