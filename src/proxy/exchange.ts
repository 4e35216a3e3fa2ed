// One client request forwarded to one colour: an undici dispatch handler that streams the
// upstream's answer to the client with backpressure, maps failures, retries within budget, and
// cancels the upstream request when the client hangs up. One object per request, no closures.
//
// Retries (CONTRACT §3, docs/metrics.md): a GET, HEAD, OPTIONS, TRACE, PUT or DELETE without a
// body whose target refused or reset the connection before any response header is sent once to
// another available target of the same colour, if the colour's RetryBudget allows it. Never a
// second retry, never after a timeout or a 5xx, never to the other colour. A retried attempt is
// recorded as an attempt of its target and a retry (Recorder.retry), not as a client response.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Colour, Outcome } from '../domain.ts';
import type { Recorder } from '../metrics/recorder.ts';
import type { ColourPool } from '../upstream/pool.ts';
import type { Target } from '../upstream/target.ts';
import { ERRORS, errorBody } from '../errors.ts';
import { classifyUpstreamError, gatewayErrorBody, isRetryable, NO_HEALTHY_TARGET, type Failure } from './failure.ts';
import { forwardParsedResponseHeaders, forwardResponseHeaders, type OutgoingHeaders } from './headers.ts';
import type { RawHeadersHandler } from '../upstream/connection-gate.ts';
import type { RetryBudget } from './retry-budget.ts';
import { CLIENT_CLOSED, type ResponseLog } from './access-log.ts';
import type { LiveTap } from '../shadow/mirror.ts';

/** RFC 9110 §9.2.2; without a body, so a retry can replay the whole request. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export interface ExchangeContext {
  readonly recorder: Recorder;
  /** One per colour: a failing colour spends only what its own traffic earned. */
  readonly retryBudgets: Readonly<Record<Colour, RetryBudget>>;
  /** `x-turnout-colour` on every proxied response. */
  readonly exposeColour: boolean;
  /** Told once per request when its response closes (access log, gateway-error causes). */
  readonly responses?: ResponseLog;
  /** Called first when the response closes (the data plane's per-client limiter). */
  readonly closed?: (res: ServerResponse) => void;
}

const kExchange = Symbol('turnout.exchange');
type ExchangeResponse = ServerResponse & { [kExchange]: Exchange };

function onResponseClose(this: ServerResponse): void {
  (this as ExchangeResponse)[kExchange].clientClosed();
}

function onResponseDrain(this: ServerResponse): void {
  (this as ExchangeResponse)[kExchange].drained();
}

/** Why an upstream request was cancelled: the client hung up (never shown to anyone). */
class ClientClosedError extends Error {
  constructor() {
    super('client closed the connection');
    this.name = 'ClientClosedError';
  }
}

export class Exchange implements RawHeadersHandler {
  private readonly req: IncomingMessage;
  private readonly res: ServerResponse;
  private readonly colour: Colour;
  private readonly pool: ColourPool;
  private readonly ctx: ExchangeContext;
  private readonly options: Dispatcher.DispatchOptions;
  /** Extra response headers: a minted sticky cookie. */
  private readonly setCookie: string | undefined;
  private target: Target | undefined;
  /** When the first attempt was sent: what the client waited is measured from here. */
  private firstStarted = 0;
  /** When the current attempt was sent. */
  private started = 0;
  private statusCode = 0;
  /** The current attempt's undici controller: pause/resume/abort. */
  private controller: Dispatcher.DispatchController | undefined;
  private clientGone = false;
  /** At most one retry per request: a second failure is answered, not chased round the pool. */
  private retried = false;
  private done = false;
  // For ctx.responses: the whole request's time, body bytes sent, the last attempt's error.
  private readonly accepted = performance.now();
  private bytes = 0;
  private cause: Error | undefined;
  /** CONTRACT §9: the live side of a mirrored request, fed as it streams (never delays it). */
  private readonly tap: LiveTap | undefined;

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    colour: Colour,
    pool: ColourPool,
    ctx: ExchangeContext,
    headers: OutgoingHeaders,
    setCookie: string | undefined,
    tap?: LiveTap,
    /** The whole body, when the data plane read it first (request-buffer.ts); else req streams. */
    bufferedBody?: Buffer,
  ) {
    this.tap = tap;
    this.req = req;
    this.res = res;
    this.colour = colour;
    this.pool = pool;
    this.ctx = ctx;
    this.setCookie = setCookie;
    const hasBody = req.headers['content-length'] !== undefined
      ? req.headers['content-length'] !== '0'
      : req.headers['transfer-encoding'] !== undefined;
    this.options = {
      path: req.url!,
      method: req.method as Dispatcher.HttpMethod,
      headers,
      body: bufferedBody ?? (hasBody ? req : null),
    };
    // One shared listener finds its exchange on the response: no closure per request.
    (res as ExchangeResponse)[kExchange] = this;
    res.on('close', onResponseClose);
  }

  /** Sends to the next available target of the colour; 503 when there is none. */
  start(): void {
    const now = performance.now();
    this.ctx.retryBudgets[this.colour].deposit(now);
    const target = this.pool.pick();
    if (target === undefined) {
      this.ctx.recorder.end(this.colour, null, 503, 0, 'no_healthy_target');
      this.fail(NO_HEALTHY_TARGET);
      return;
    }
    this.firstStarted = now;
    this.send(target);
  }

  private send(target: Target): void {
    this.target = target;
    this.done = false;
    this.controller = undefined;
    this.started = this.retried ? performance.now() : this.firstStarted;
    this.ctx.recorder.begin(target);
    try {
      this.pool.dispatcherOf(target).dispatch(this.options, this);
    } catch {
      // A request undici refuses to send (an invalid header value, say) is the client's fault.
      this.finish(0, 'client_abort');
      this.respondError(400, errorBody('TURNOUT_ERR_BAD_REQUEST', 'request cannot be forwarded', { colour: this.colour }));
    }
  }

  /** The client's connection closed (normally after the answer, or early: a hang-up). */
  clientClosed(): void {
    const res = this.res;
    this.ctx.closed?.(res);
    this.ctx.responses?.ended(this.req, this.colour, this.target, res.headersSent ? res.statusCode : CLIENT_CLOSED, performance.now() - this.accepted, this.bytes, this.cause, res.writableFinished);
    if (this.done || this.res.writableFinished) return;
    this.clientGone = true;
    // Cancel the upstream request: it would be work for an answer nobody reads.
    this.controller?.abort(new ClientClosedError());
  }

  /** The client's socket drained: let undici deliver more of the upstream's body. */
  drained(): void {
    this.controller?.resume();
  }

  // undici's controller-based handler API (undici 7: `onRequestStart` selects it; the
  // onConnect/onHeaders/onData/onComplete/onError callbacks are deprecated). One controller per
  // attempt: pause()/resume() for backpressure, abort() to cancel.
  onRequestStart(controller: Dispatcher.DispatchController, _context: unknown): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(new ClientClosedError());
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, _statusMessage?: string): void {
    if (statusCode < 200) return; // 1xx interim answers are this hop's business
    this.respondWith(statusCode, (controller as { rawHeaders?: Buffer[] }).rawHeaders ?? [], forwardParsedResponseHeaders(headers));
  }

  /** Through the connection gate (every pool has one): the raw pairs, with no parsed object built. */
  onRawResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, rawHeaders: Buffer[]): void {
    if (statusCode < 200) return;
    this.respondWith(statusCode, rawHeaders, forwardResponseHeaders(rawHeaders));
  }

  private respondWith(statusCode: number, rawHeaders: Buffer[], out: string[]): void {
    this.statusCode = statusCode;
    if (this.tap !== undefined) this.tap.headers(statusCode, rawHeaders, this.target!.url);
    if (this.ctx.exposeColour) out.push('x-turnout-colour', this.colour);
    if (this.setCookie !== undefined) out.push('set-cookie', this.setCookie);
    this.res.writeHead(statusCode, out);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.bytes += chunk.length;
    this.tap?.data(chunk);
    if (this.res.write(chunk)) return;
    controller.pause();
    this.res.once('drain', onResponseDrain);
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, _trailers: IncomingHttpHeaders): void {
    this.res.end();
    this.finish(this.statusCode, this.statusCode >= 500 ? 'status5xx' : 'ok');
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.cause = err;
    if (this.clientGone) {
      this.finish(this.statusCode, 'client_abort');
      return;
    }
    const failure = classifyUpstreamError(err);
    const failedTarget = this.target;
    if (this.res.headersSent) {
      // Too late for an error answer: cut the client off so it sees a truncated response.
      this.finish(this.statusCode, failure.kind);
      this.res.destroy();
      return;
    }
    // Another target of the same colour, for idempotent bodiless requests, within the budget.
    if (!this.retried && isRetryable(failure) && this.options.body === null && IDEMPOTENT.has(this.options.method) && failedTarget !== undefined) {
      const next = this.pool.pick(failedTarget);
      const now = performance.now();
      if (next !== undefined && next !== failedTarget && this.ctx.retryBudgets[this.colour].tryWithdraw(now)) {
        this.retried = true;
        this.ctx.recorder.retry(failedTarget, now - this.started, failure.kind);
        this.pool.reportOutcome(failedTarget, failure.kind);
        this.send(next);
        return;
      }
    }
    this.finish(ERRORS[failure.code].statusCode, failure.kind);
    this.fail(failure);
  }

  /** Records the client response and its last attempt once, and tells the pool how the target did (passive health). */
  private finish(statusCode: number, outcome: Outcome): void {
    if (this.done) return;
    this.done = true;
    if (this.tap !== undefined) outcome === 'ok' || outcome === 'status5xx' ? this.tap.end() : this.tap.fail();
    const target = this.target;
    if (target === undefined) return;
    const now = performance.now();
    this.ctx.recorder.end(this.colour, target, statusCode, now - this.firstStarted, outcome, now - this.started);
    this.pool.reportOutcome(target, outcome);
  }

  private fail(failure: Failure): void {
    this.done = true;
    this.tap?.fail();
    this.respondError(ERRORS[failure.code].statusCode, gatewayErrorBody(failure.code, this.colour));
  }

  private respondError(status: number, body: string): void {
    if (this.res.headersSent || this.res.destroyed) return;
    const headers: string[] = ['content-type', 'application/json; charset=utf-8', 'content-length', String(Buffer.byteLength(body))];
    if (this.ctx.exposeColour) headers.push('x-turnout-colour', this.colour);
    this.res.writeHead(status, headers);
    this.res.end(body);
    this.bytes = body.length; // ASCII JSON
    // An unread request body would otherwise stall the connection; drop it.
    if (!this.req.complete) this.req.resume();
  }
}
