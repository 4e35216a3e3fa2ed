// A bounded wait for a free upstream connection, in front of one target's undici Pool.
//
// Why: undici's Pool queues a request that finds every connection busy, without bound and
// without a deadline. A few hundred clients that hold their request open (a slow body) or
// stop reading the answer (a slow read) pin every connection of a target, and every other
// request then waits in that queue until its client gives up: the colour stops answering
// while its health checks, on their own connections, pass (issue 12). The gate counts busy
// connections itself; a request that finds none free waits in a FIFO bounded in length
// (`maxQueued`) and in time (`queueMs`), and is refused with a `saturated` error otherwise,
// which the data plane answers 503 at once. Envoy does the same with its circuit breakers'
// `max_pending_requests` (503 with the UO flag); nginx's `queue` directive (commercial) has
// a length and a timeout too.
//
// The gate is a Dispatcher in front of the Pool: the exchange dispatches to it unchanged. Each
// dispatched request gets a small wrapper handler that frees its slot exactly once, when undici
// reports the end (complete, error or upgrade), and starts the next queued request.
import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { errors, util, type Dispatcher } from 'undici';

// undici's own header parser (what UnwrapHandler uses): interned lower-case names, repeated fields as arrays.
const { parseHeaders } = util;
const { InvalidArgumentError } = errors;

/** The error a refused request fails with; failure.ts maps its code to a 503. */
export class UpstreamSaturatedError extends Error {
  readonly code = 'TURNOUT_UPSTREAM_SATURATED';
  /** `overflow`: the queue was full; `timeout`: no connection freed up within queueMs. */
  readonly reason: 'overflow' | 'timeout';
  constructor(reason: 'overflow' | 'timeout') {
    super(reason === 'overflow' ? 'every upstream connection is busy and the queue is full' : 'no upstream connection became free in time');
    this.name = 'UpstreamSaturatedError';
    this.reason = reason;
  }
}

class QueueAbortedError extends Error {
  readonly code = 'UND_ERR_ABORTED';
  constructor() {
    super('request aborted while waiting for an upstream connection');
    this.name = 'QueueAbortedError';
  }
}

/** Timers the gate uses for queue deadlines; injected so tests drive time without sleeping. */
export interface GateTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: GateTimers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface GateOptions {
  /** Requests sent to the target at once: its Pool's `connections`. */
  readonly max: number;
  /** How long a request may wait for a free connection before it is refused. */
  readonly queueMs: number;
  /** How many requests may wait; one more is refused at once. */
  readonly maxQueued: number;
  readonly timers?: GateTimers;
}

/** What /api/v1/upstreams and /metrics report per target. */
export interface GateStats {
  readonly busy: number;
  readonly max: number;
  readonly queued: number;
  /** Refused because the queue was full, since start. */
  readonly overflows: number;
  /** Refused after waiting queueMs, since start. */
  readonly timeouts: number;
}

type Handler = Dispatcher.DispatchHandler;
type Options = Dispatcher.DispatchOptions;

/** 0: waiting; 1: sent (holds a slot); 2: over (slot freed, or refused/aborted while waiting). */
const WAITING = 0;
const SENT = 1;
const OVER = 2;

/**
 * One request through the gate: forwards undici's callbacks and frees the slot once. Two shapes,
 * as undici has two handler APIs: the controller-based one (onRequestStart…, what Exchange uses)
 * and the deprecated callbacks (onConnect…); undici picks by the presence of onRequestStart.
 */
abstract class GatedBase {
  state = WAITING;
  deadline = 0;
  readonly gate: ConnectionGate;
  readonly options: Options;
  readonly handler: Handler;

  constructor(gate: ConnectionGate, options: Options, handler: Handler) {
    this.gate = gate;
    this.options = options;
    this.handler = handler;
  }

  /** The client hung up while waiting: leave the queue. */
  abortWaiting(): void {
    if (this.state !== WAITING) return;
    this.state = OVER;
    this.gate.dequeued();
    this.fail(new QueueAbortedError());
  }

  protected end(): void {
    if (this.state !== SENT) return;
    this.state = OVER;
    this.gate.release();
  }

  /** Tells the handler the request failed before undici took it (refused, timed out, aborted). */
  abstract fail(err: Error): void;
  /** Gives the handler a way to abort while the request waits in the queue. */
  abstract waiting(): void;
}

/**
 * A controller-API handler that reads the response's raw field pairs itself. When it has
 * onRawResponseStart, the gate calls that instead of onResponseStart and skips undici's
 * parseHeaders: building the parsed object (a fresh dictionary per response, filled through
 * megamorphic keyed stores) cost about 4,300 instructions per request under callgrind
 * (bench/micro/proxy-callgrind.sh), 2.6 % of the whole proxy's per-request work, and the data
 * plane only copies the fields on. The raw Buffers are also controller.rawHeaders, as
 * undici's UnwrapController exposes them.
 */
export interface RawHeadersHandler extends Dispatcher.DispatchHandler {
  onRawResponseStart?(controller: Dispatcher.DispatchController, statusCode: number, rawHeaders: Buffer[]): void;
}

/** What undici's own HTTP/1.1 and HTTP/2 clients pass to onComplete without trailers. */
const NO_TRAILERS: IncomingHttpHeaders = Object.freeze({}) as IncomingHttpHeaders;

/**
 * A controller-API handler (Exchange) through the gate, in one object per attempt.
 *
 * Why one object: undici 7's core (lib/core/request.js) still calls the callback API. A handler
 * with onRequestStart handed to dispatch() is wrapped per request by UnwrapHandler
 * (lib/handler/unwrap-handler.js, from DispatcherBase.dispatch), which creates an
 * UnwrapController per attempt and translates each callback. With the gate's own wrapper in
 * front, that made three objects and two hops per callback on every request (issue: the quick
 * bench fell from 1.02× to 0.88× of the undici proxy). This class does UnwrapHandler's
 * translation itself, with the same semantics (pause/resume/abort, rawHeaders, onData's return
 * value, parsed headers, or the raw pairs for a RawHeadersHandler), and is its own controller:
 * towards undici it speaks the callbacks, so undici has nothing to unwrap; towards the handler
 * it speaks the controller API, so Exchange stays on the current API (issue 19 item 5). When undici's core speaks the controller API
 * natively (undici 8), this becomes a plain forwarder again; test/upstream/connection-gate.test.ts
 * pins both sides of the translation.
 */
class GatedRequest extends GatedBase {
  // Dispatcher.DispatchController, as the handler sees it.
  rawHeaders: Buffer[] | null = null;
  rawTrailers: string[] | Buffer[] | null = null;
  #abort: ((reason?: Error) => void) | null = null;
  #resume: (() => void) | null = null;
  #paused = false;
  #aborted = false;
  #reason: Error | null = null;

  get aborted(): boolean {
    return this.#aborted;
  }
  get paused(): boolean {
    return this.#paused;
  }
  get reason(): Error | null {
    return this.#reason;
  }
  pause(): void {
    this.#paused = true;
  }
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#resume?.();
  }
  abort(reason: Error): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    // Before undici took the request, abort means leaving the queue.
    if (this.#abort === null) this.abortWaiting();
    else this.#abort(reason);
  }

  fail(err: Error): void {
    this.handler.onResponseError?.(this.#controller(), err);
  }
  waiting(): void {
    this.handler.onRequestStart?.(this.#controller(), {});
  }
  #controller(): Dispatcher.DispatchController {
    return this as unknown as Dispatcher.DispatchController;
  }

  // The callback API, as undici's Request calls it (UnwrapHandler's translation).
  onConnect(abort: (reason?: Error) => void, context?: unknown): void {
    this.#abort = abort;
    // A fresh controller per attempt, as UnwrapHandler makes one: an abort while queued is spent.
    this.#aborted = false;
    this.#reason = null;
    this.#paused = false;
    this.handler.onRequestStart?.(this.#controller(), context ?? {});
  }
  onResponseStarted(): void {
    (this.handler as { onResponseStarted?: () => void }).onResponseStarted?.();
  }
  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusMessage?: string): boolean {
    this.#resume = resume;
    this.rawHeaders = rawHeaders;
    const handler = this.handler as RawHeadersHandler;
    if (handler.onRawResponseStart !== undefined) handler.onRawResponseStart(this.#controller(), statusCode, rawHeaders);
    else handler.onResponseStart?.(this.#controller(), statusCode, parseHeaders(rawHeaders) as IncomingHttpHeaders, statusMessage);
    return !this.#paused;
  }
  onData(chunk: Buffer): boolean {
    this.handler.onResponseData?.(this.#controller(), chunk);
    return !this.#paused;
  }
  onComplete(rawTrailers: string[] | Buffer[] | null): void {
    this.end();
    this.rawTrailers = rawTrailers;
    const trailers = rawTrailers === null || rawTrailers.length === 0 ? NO_TRAILERS : (parseHeaders(rawTrailers) as IncomingHttpHeaders);
    this.handler.onResponseEnd?.(this.#controller(), trailers);
  }
  onError(err: Error): void {
    this.end();
    if (this.handler.onResponseError === undefined) throw new InvalidArgumentError('invalid onError method');
    this.handler.onResponseError(this.#controller(), err);
  }
  onUpgrade(statusCode: number, rawHeaders: Buffer[], socket: Duplex): void {
    this.end();
    this.rawHeaders = rawHeaders;
    this.handler.onRequestUpgrade?.(this.#controller(), statusCode, parseHeaders(rawHeaders) as IncomingHttpHeaders, socket);
  }
}

class LegacyGatedRequest extends GatedBase {
  fail(err: Error): void {
    this.handler.onError?.(err);
  }
  waiting(): void {
    this.handler.onConnect?.(() => this.abortWaiting());
  }
  onConnect(abort: (err?: Error) => void): void {
    this.handler.onConnect?.(abort);
  }
  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    return this.handler.onHeaders?.(statusCode, rawHeaders, resume, statusText) ?? true;
  }
  onData(chunk: Buffer): boolean {
    return this.handler.onData?.(chunk) ?? true;
  }
  onComplete(trailers: string[] | null): void {
    this.end();
    this.handler.onComplete?.(trailers);
  }
  onError(err: Error): void {
    this.end();
    this.handler.onError?.(err);
  }
  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[] | null, socket: Duplex): void {
    this.end();
    this.handler.onUpgrade?.(statusCode, rawHeaders, socket);
  }
  onResponseStarted(): void {
    this.handler.onResponseStarted?.();
  }
  onBodySent(chunkSize: number, totalBytesSent: number): void {
    this.handler.onBodySent?.(chunkSize, totalBytesSent);
  }
}

export class ConnectionGate {
  readonly max: number;
  private readonly target: Dispatcher;
  private readonly queueMs: number;
  private readonly maxQueued: number;
  private readonly timers: GateTimers;
  private busyCount = 0;
  /** FIFO of waiting requests; aborted ones stay until they reach the head (counted apart). */
  private queue: GatedBase[] = [];
  private head = 0;
  private waiting = 0;
  private timer: unknown = undefined;
  private overflows = 0;
  private timeouts = 0;

  constructor(target: Dispatcher, options: GateOptions) {
    this.target = target;
    this.max = options.max;
    this.queueMs = options.queueMs;
    this.maxQueued = options.maxQueued;
    this.timers = options.timers ?? realTimers;
  }

  get busy(): number {
    return this.busyCount;
  }

  get queued(): number {
    return this.waiting;
  }

  stats(): GateStats {
    return { busy: this.busyCount, max: this.max, queued: this.waiting, overflows: this.overflows, timeouts: this.timeouts };
  }

  /** Sends now when a connection is free, else queues (bounded); refusals go to handler.onError. */
  dispatch(options: Options, handler: Handler): boolean {
    const request: GatedBase = typeof handler.onRequestStart === 'function' ? new GatedRequest(this, options, handler) : new LegacyGatedRequest(this, options, handler);
    if (this.busyCount < this.max && this.waiting === 0) return this.send(request);
    if (this.waiting >= this.maxQueued) {
      this.overflows++;
      request.state = OVER;
      request.fail(new UpstreamSaturatedError('overflow'));
      return false;
    }
    request.deadline = this.timers.now() + this.queueMs;
    this.queue.push(request);
    this.waiting++;
    request.waiting();
    this.arm();
    return false;
  }

  private send(request: GatedBase): boolean {
    request.state = SENT;
    this.busyCount++;
    try {
      return this.target.dispatch(request.options, request as unknown as Handler);
    } catch (err) {
      // undici refused it outright (an invalid header, say): free the slot, let the caller see it.
      request.state = OVER;
      this.release();
      throw err;
    }
  }

  /** A sent request ended: its connection is free for the next waiting one. */
  release(): void {
    this.busyCount--;
    // Nothing waits (the common case): the queue is already compacted, nothing to shift.
    if (this.waiting === 0) return;
    while (this.busyCount < this.max) {
      const next = this.shift();
      if (next === undefined) break;
      try {
        this.send(next);
      } catch (err) {
        next.fail(err as Error);
      }
    }
  }

  /** A waiting request left the queue by itself (its client hung up). */
  dequeued(): void {
    this.waiting--;
    if (this.waiting === 0) this.compact();
  }

  /** The oldest request still waiting, taken off the queue. */
  private shift(): GatedBase | undefined {
    while (this.head < this.queue.length) {
      const request = this.queue[this.head++]!;
      if (request.state !== WAITING) continue;
      this.waiting--;
      if (this.waiting === 0) this.compact();
      return request;
    }
    this.compact();
    return undefined;
  }

  private compact(): void {
    if (this.waiting === 0) {
      this.queue = [];
      this.head = 0;
      if (this.timer !== undefined) {
        this.timers.clearTimeout(this.timer);
        this.timer = undefined;
      }
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** One timer per gate, for the oldest waiting request's deadline (all share queueMs: FIFO). */
  private arm(): void {
    if (this.timer !== undefined) return;
    let oldest: GatedBase | undefined;
    for (let i = this.head; i < this.queue.length && oldest === undefined; i++) if (this.queue[i]!.state === WAITING) oldest = this.queue[i];
    if (oldest === undefined) return;
    this.timer = this.timers.setTimeout(() => this.expire(), Math.max(0, oldest.deadline - this.timers.now()));
  }

  private expire(): void {
    this.timer = undefined;
    const now = this.timers.now();
    while (this.head < this.queue.length) {
      const request = this.queue[this.head]!;
      if (request.state === WAITING && request.deadline > now) break;
      this.head++;
      if (request.state !== WAITING) continue;
      request.state = OVER;
      this.waiting--;
      this.timeouts++;
      request.fail(new UpstreamSaturatedError('timeout'));
    }
    this.compact();
    if (this.waiting > 0) this.arm();
  }
}
