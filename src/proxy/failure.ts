// Transport failures mapped once into a few gateway answers (as @fastify/reply-from's
// lib/errors.js does), with bodies that leak no internal address or error text.
import type { Colour, ErrorKind } from '../domain.ts';
import type { Duplex } from 'node:stream';
import { ERRORS, errorBody, type ErrorCode } from '../errors.ts';

export interface Failure {
  readonly kind: ErrorKind;
  readonly code: ErrorCode;
}

const REFUSED: Failure = Object.freeze({ kind: 'refused', code: 'TURNOUT_ERR_BAD_GATEWAY' });
const RESET: Failure = Object.freeze({ kind: 'reset', code: 'TURNOUT_ERR_BAD_GATEWAY' });
const TIMEOUT: Failure = Object.freeze({ kind: 'timeout', code: 'TURNOUT_ERR_GATEWAY_TIMEOUT' });
const SATURATED: Failure = Object.freeze({ kind: 'saturated', code: 'TURNOUT_ERR_UPSTREAM_SATURATED' });
export const NO_HEALTHY_TARGET: Failure = Object.freeze({ kind: 'no_healthy_target', code: 'TURNOUT_ERR_NO_HEALTHY_TARGET' });

/** Classifies an error undici raised while talking to a target. */
export function classifyUpstreamError(err: unknown): Failure {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'TURNOUT_UPSTREAM_SATURATED': // upstream/connection-gate.ts: no free connection in time
      return SATURATED;
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return TIMEOUT;
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return REFUSED;
    default:
      // ECONNRESET, EPIPE, UND_ERR_SOCKET ("other side closed"), a malformed response…
      return RESET;
  }
}

/**
 * Connection failures may be retried on another target (for idempotent, bodiless requests);
 * a timeout is not: the target may still be working on it, and a retry doubles the wait.
 */
export function isRetryable(failure: Failure): boolean {
  return failure.kind === 'refused' || failure.kind === 'reset';
}

/** The JSON body of a gateway error: `{ statusCode, error, message, colour }`. */
export function gatewayErrorBody(code: ErrorCode, colour: Colour): string {
  return errorBody(code, undefined, { colour });
}

/** Answers on a raw socket (a client error or an upgrade has no ServerResponse) and closes it. */
export function answerOnSocket(socket: Duplex, code: ErrorCode, body: string): void {
  if (socket.destroyed || !socket.writable) return void socket.destroy();
  const { statusCode, error } = ERRORS[code];
  socket.end(
    `HTTP/1.1 ${statusCode} ${error}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
