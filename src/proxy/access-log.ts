// What the data plane tells the operator about each answered request, through pino:
//   - `log.access: true`: one JSON line per proxied request (`msg: "access"`, at info) with the
//     service, colour, target, method, url, status, duration, bytes, and the upstream cause of a
//     failed attempt (a refused, reset or timed-out target; no healthy target), as `cause`, or as
//     `retriedAfter` when a retry on another target then answered.
//   - `log.access: false` (the default): only the causes of 502/503/504 answers, at warn, at most
//     `limit` lines per `windowMs`; the next line after a window that dropped some says how many.
//     Before this, the cause of a 502 was dropped: the client's body must not carry it (CONTRACT
//     §3), so the log is the only place an operator can find it.
// The Exchange calls `ended` once per request, when its response closes (no allocation there
// when nothing is logged). WebSocket upgrades and requests refused before routing (400, 431)
// do not pass through here.
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { Colour } from '../domain.ts';
import type { Target } from '../upstream/target.ts';
import { classifyUpstreamError } from './failure.ts';

/** Status logged for a client that hung up before the response headers (nginx's 499). */
export const CLIENT_CLOSED = 499;

export interface ResponseLog {
  /**
   * A request's response closed. `target` is the last one tried (undefined: none was available);
   * `status` what the client got (CLIENT_CLOSED if it left first); `bytes` the body bytes sent;
   * `cause` the error of the last failed attempt; `complete` false when the body was cut short.
   */
  ended(req: IncomingMessage, colour: Colour, target: Target | undefined, status: number, durationMs: number, bytes: number, cause: Error | undefined, complete: boolean): void;
}

export interface ResponseLogOptions {
  readonly logger: Logger;
  /** `log.access`. */
  readonly access: boolean;
  /** The service id in every line (DESIGN: key everything by service; only `default` for now). */
  readonly service?: string;
  /** Gateway-error lines per window when the access log is off (default 10 per 10 s). */
  readonly limit?: { readonly lines: number; readonly windowMs: number };
  readonly now?: () => number;
}

/** The `cause` field: what went wrong upstream, for the operator (internal addresses included). */
export interface UpstreamCause {
  readonly kind: string;
  readonly code?: string;
  readonly message?: string;
}

const GATEWAY = new Set([502, 503, 504]);

export function describeCause(status: number, target: Target | undefined, cause: Error | undefined): UpstreamCause | undefined {
  if (cause !== undefined) {
    const code = (cause as { code?: unknown }).code;
    return { kind: classifyUpstreamError(cause).kind, ...(typeof code === 'string' ? { code } : {}), message: cause.message };
  }
  if (target === undefined && status === 503) return { kind: 'no_healthy_target', message: 'no available target in the colour' };
  if (GATEWAY.has(status)) return { kind: 'upstream_status', message: `the target answered ${status}` };
  return undefined;
}

export function createResponseLog(options: ResponseLogOptions): ResponseLog {
  const { logger, access } = options;
  const service = options.service ?? 'default';
  const now = options.now ?? Date.now;
  const { lines: limit, windowMs } = options.limit ?? { lines: 10, windowMs: 10_000 };
  let windowStart = -Infinity;
  let logged = 0;
  let dropped = 0;

  if (access) {
    return {
      ended(req, colour, target, status, durationMs, bytes, cause, complete) {
        const why = status === CLIENT_CLOSED ? undefined : describeCause(status, target, cause);
        // A good answer with a cause came from a retry: the first attempt's failure, named as such.
        const causeKey = why !== undefined && status < 500 && complete ? 'retriedAfter' : 'cause';
        logger.info(
          {
            service,
            colour,
            target: target?.url ?? null,
            method: req.method,
            url: req.url,
            status,
            durationMs: Math.round(durationMs * 1000) / 1000,
            bytes,
            ...(why === undefined ? {} : { [causeKey]: why }),
            ...(complete ? {} : { complete: false }),
          },
          'access',
        );
      },
    };
  }

  return {
    ended(req, colour, target, status, durationMs, _bytes, cause) {
      if (!GATEWAY.has(status)) return;
      const t = now();
      if (t - windowStart >= windowMs) {
        if (dropped > 0) logger.warn({ service, dropped, windowMs }, `${dropped} more 502/503/504 causes not logged in the last ${windowMs / 1000}s`);
        windowStart = t;
        logged = 0;
        dropped = 0;
      }
      if (logged >= limit) {
        dropped++;
        return;
      }
      logged++;
      const why = describeCause(status, target, cause);
      logger.warn(
        { service, colour, target: target?.url ?? null, method: req.method, url: req.url, status, durationMs: Math.round(durationMs * 1000) / 1000, cause: why },
        `${status} from ${colour}: ${why?.kind ?? 'unknown'}${why?.code ? ` (${why.code})` : ''}`,
      );
    },
  };
}
