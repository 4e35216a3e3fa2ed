// The bounded wait for an upstream connection (src/upstream/connection-gate.ts), driven by a
// recording dispatcher and injected timers: no sockets, no sleeping. The end-to-end half
// (real upstreams, slowhttptest) is test/proxy/slow-clients.test.ts.
import t from 'tap';
import type { Dispatcher } from 'undici';
import { ConnectionGate, UpstreamSaturatedError, type GateTimers, type RawHeadersHandler } from '../../src/upstream/connection-gate.ts';
import { classifyUpstreamError } from '../../src/proxy/failure.ts';

class FakeTimers implements GateTimers {
  time = 0;
  pending: { at: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  now() {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number) {
    const id = ++this.ids;
    this.pending.push({ at: this.time + ms, fn, id });
    return id;
  }
  clearTimeout(id: unknown) {
    this.pending = this.pending.filter((p) => p.id !== id);
  }
  advance(ms: number) {
    this.time += ms;
    for (;;) {
      const due = this.pending.filter((p) => p.at <= this.time).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.pending = this.pending.filter((p) => p !== due);
      due.fn();
    }
  }
}

/** A dispatcher that keeps each sent request's handler so the test ends it. */
function recordingDispatcher() {
  const sent: Dispatcher.DispatchHandler[] = [];
  const dispatcher = {
    dispatch(_options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
      sent.push(handler);
      handler.onConnect?.(() => {});
      return true;
    },
  } as unknown as Dispatcher;
  return { dispatcher, sent };
}

/** A client-side handler that records how it ended. */
function client(name: string, log: string[]) {
  let abort: (() => void) | undefined;
  const handler: Dispatcher.DispatchHandler = {
    onConnect(a) {
      abort = a;
    },
    onHeaders: () => true,
    onData: () => true,
    onComplete() {
      log.push(`${name}:complete`);
    },
    onError(err) {
      log.push(`${name}:${err instanceof UpstreamSaturatedError ? `saturated-${err.reason}` : (err as { code?: string }).code}`);
    },
  };
  return { handler, abort: () => abort?.() };
}

const options = { path: '/', method: 'GET' } as Dispatcher.DispatchOptions;

t.test('sends up to max at once; the next waits and goes when a slot frees, in FIFO order', async (t) => {
  const timers = new FakeTimers();
  const { dispatcher, sent } = recordingDispatcher();
  const gate = new ConnectionGate(dispatcher, { max: 2, queueMs: 1000, maxQueued: 10, timers });
  const log: string[] = [];
  for (const name of ['a', 'b', 'c', 'd']) gate.dispatch(options, client(name, log).handler);
  t.equal(sent.length, 2, 'two sent');
  t.same(gate.stats(), { busy: 2, max: 2, queued: 2, overflows: 0, timeouts: 0 });
  sent[0]!.onComplete!(null);
  t.equal(sent.length, 3, 'the oldest waiting one (c) went when a slot freed');
  sent[1]!.onError!(Object.assign(new Error('reset'), { code: 'reset' }));
  t.equal(sent.length, 4, 'an error frees the slot too');
  t.same(gate.stats(), { busy: 2, max: 2, queued: 0, overflows: 0, timeouts: 0 });
  sent[2]!.onComplete!(null);
  sent[2]!.onComplete!(null); // a second end of the same request frees nothing more
  t.equal(gate.busy, 1);
  t.same(log, ['a:complete', 'b:reset', 'c:complete', 'c:complete']);
});

t.test('a full queue refuses at once; a wait longer than queueMs is refused; both map to 503 saturated', async (t) => {
  const timers = new FakeTimers();
  const { dispatcher, sent } = recordingDispatcher();
  const gate = new ConnectionGate(dispatcher, { max: 1, queueMs: 500, maxQueued: 2, timers });
  const log: string[] = [];
  gate.dispatch(options, client('a', log).handler);
  gate.dispatch(options, client('b', log).handler);
  timers.advance(200);
  gate.dispatch(options, client('c', log).handler);
  gate.dispatch(options, client('d', log).handler);
  t.same(log, ['d:saturated-overflow'], 'the third waiting request overflows');
  timers.advance(299);
  t.same(log, ['d:saturated-overflow'], 'b has waited 499 ms: still waiting');
  timers.advance(1);
  t.same(log, ['d:saturated-overflow', 'b:saturated-timeout'], 'b times out at 500 ms');
  timers.advance(200);
  t.same(log, ['d:saturated-overflow', 'b:saturated-timeout', 'c:saturated-timeout'], 'c, queued 200 ms later, 200 ms later');
  t.same(gate.stats(), { busy: 1, max: 1, queued: 0, overflows: 1, timeouts: 2 });
  t.equal(timers.pending.length, 0, 'no timer left while nothing waits');
  sent[0]!.onComplete!(null);
  t.equal(gate.busy, 0);
  t.equal(sent.length, 1, 'timed-out requests are never sent');
  const failure = classifyUpstreamError(new UpstreamSaturatedError('timeout'));
  t.same(failure, { kind: 'saturated', code: 'TURNOUT_ERR_UPSTREAM_SATURATED' });
});

t.test('a client that hangs up while waiting leaves the queue and is never sent', async (t) => {
  const timers = new FakeTimers();
  const { dispatcher, sent } = recordingDispatcher();
  const gate = new ConnectionGate(dispatcher, { max: 1, queueMs: 1000, maxQueued: 10, timers });
  const log: string[] = [];
  gate.dispatch(options, client('a', log).handler);
  const b = client('b', log);
  gate.dispatch(options, b.handler);
  gate.dispatch(options, client('c', log).handler);
  b.abort();
  t.same(log, ['b:UND_ERR_ABORTED']);
  t.equal(gate.queued, 1);
  sent[0]!.onComplete!(null);
  t.equal(sent.length, 2, 'c was sent, b skipped');
  timers.advance(5000);
  t.same(log, ['b:UND_ERR_ABORTED', 'a:complete'], 'no late timeout for anyone');
});

t.test('a dispatch undici throws on frees its slot', async (t) => {
  const dispatcher = {
    dispatch() {
      throw new Error('invalid header');
    },
  } as unknown as Dispatcher;
  const gate = new ConnectionGate(dispatcher, { max: 1, queueMs: 1000, maxQueued: 10, timers: new FakeTimers() });
  t.throws(() => gate.dispatch(options, client('a', []).handler), /invalid header/);
  t.equal(gate.busy, 0);
});

t.test('queueMs 0 refuses at once when all connections are busy; maxQueued 0 too', async (t) => {
  for (const [queueMs, maxQueued, expect] of [
    [0, 10, 'saturated-timeout'],
    [1000, 0, 'saturated-overflow'],
  ] as const) {
    const timers = new FakeTimers();
    const gate = new ConnectionGate(recordingDispatcher().dispatcher, { max: 1, queueMs, maxQueued, timers });
    const log: string[] = [];
    gate.dispatch(options, client('a', log).handler);
    gate.dispatch(options, client('b', log).handler);
    timers.advance(0);
    t.same(log, [`b:${expect}`], `queueMs ${queueMs}, maxQueued ${maxQueued}`);
  }
});

/** A controller-API handler (Exchange's shape) that records what it was told. */
function controllerClient(log: string[]) {
  const seen: { controllers: Dispatcher.DispatchController[]; headers?: Record<string, unknown>; rawHeaders?: unknown; trailers?: unknown } = { controllers: [] };
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(controller) {
      seen.controllers.push(controller);
      log.push('start');
    },
    onResponseStart(controller, statusCode, headers) {
      seen.headers = headers as Record<string, unknown>;
      seen.rawHeaders = (controller as unknown as { rawHeaders: unknown }).rawHeaders;
      log.push(`headers:${statusCode}`);
    },
    onResponseData(controller, chunk) {
      log.push(`data:${chunk.toString()}`);
      if (chunk.toString() === 'slow') controller.pause();
    },
    onResponseEnd(_controller, trailers) {
      seen.trailers = trailers;
      log.push('end');
    },
    onResponseError(_controller, err) {
      log.push(`error:${err instanceof UpstreamSaturatedError ? `saturated-${err.reason}` : (err as { code?: string }).code}`);
    },
  };
  return { handler, seen };
}

t.test('a controller-API handler: undici gets the callback API (nothing for it to unwrap), the handler a controller', async (t) => {
  const { dispatcher, sent } = recordingDispatcher();
  const aborts: (Error | undefined)[] = [];
  // The recording dispatcher connects with a no-op abort; this one records it.
  const connecting = {
    dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
      sent.push(handler);
      handler.onConnect?.((err?: Error) => aborts.push(err));
      return dispatcher.dispatch === undefined || options !== undefined;
    },
  } as unknown as Dispatcher;
  const gate = new ConnectionGate(connecting, { max: 1, queueMs: 1000, maxQueued: 10, timers: new FakeTimers() });
  const log: string[] = [];
  const { handler, seen } = controllerClient(log);
  gate.dispatch(options, handler);
  const h = sent[0]!;
  t.equal(typeof (h as { onRequestStart?: unknown }).onRequestStart, 'undefined', 'no onRequestStart: undici would wrap it in UnwrapHandler');
  for (const m of ['onConnect', 'onHeaders', 'onData', 'onComplete', 'onError', 'onUpgrade'] as const) t.equal(typeof h[m], 'function', m);
  const controller = seen.controllers[0]!;
  t.same([controller.aborted, controller.paused, controller.reason], [false, false, null]);
  let resumed = 0;
  const raw = ['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2'].map((s) => Buffer.from(s));
  t.equal(h.onHeaders!(200, raw, () => resumed++, 'OK'), true, 'not paused: keep reading');
  t.same(seen.headers, { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] }, 'parsed as undici parses them');
  t.equal(seen.rawHeaders, raw, 'controller.rawHeaders: the raw Buffers');
  t.equal(h.onData!(Buffer.from('fast')), true);
  t.equal(h.onData!(Buffer.from('slow')), false, 'paused by the handler: undici stops reading');
  t.equal(controller.paused, true);
  controller.resume();
  controller.resume();
  t.equal(resumed, 1, 'resume calls undici once, only when paused');
  t.equal(gate.busy, 1);
  h.onComplete!([]);
  t.same(seen.trailers, {}, 'no trailers: an empty object');
  t.equal(gate.busy, 0, 'the end frees the slot');
  controller.abort(new Error('late'));
  t.same(aborts.map((e) => e?.message), ['late'], 'abort goes to undici');
  controller.abort(new Error('again'));
  t.equal(aborts.length, 1, 'only once');
  t.same(log, ['start', 'headers:200', 'data:fast', 'data:slow', 'end']);
});

t.test('a handler with onRawResponseStart gets the raw pairs instead, and nothing is parsed for it', async (t) => {
  const { dispatcher, sent } = recordingDispatcher();
  const gate = new ConnectionGate(dispatcher, { max: 1, queueMs: 1000, maxQueued: 10, timers: new FakeTimers() });
  const log: string[] = [];
  const { handler, seen } = controllerClient(log);
  let rawSeen: { statusCode: number; raw: Buffer[]; controller: unknown } | undefined;
  const raw = ['Content-Type', 'text/plain', 'Set-Cookie', 'a=1'].map((s) => Buffer.from(s));
  const rawHandler: RawHeadersHandler = {
    ...handler,
    onRawResponseStart(controller, statusCode, rawHeaders) {
      rawSeen = { statusCode, raw: rawHeaders, controller };
      log.push(`raw:${statusCode}`);
      controller.pause();
    },
  };
  gate.dispatch(options, rawHandler);
  const h = sent[0]!;
  t.equal(h.onHeaders!(200, raw, () => {}, 'OK'), false, 'paused in onRawResponseStart: undici stops reading');
  t.equal(rawSeen?.statusCode, 200);
  t.equal(rawSeen?.raw, raw, 'the very Buffers undici read');
  t.equal(rawSeen?.controller, seen.controllers[0], 'the same controller as onRequestStart');
  t.equal(seen.headers, undefined, 'onResponseStart is not called');
  h.onComplete!(null);
  t.same(log, ['start', 'raw:200', 'end']);
});

t.test('a controller-API handler waiting in the queue: abort leaves it; sent later, it gets a fresh controller state', async (t) => {
  const timers = new FakeTimers();
  const { dispatcher, sent } = recordingDispatcher();
  const gate = new ConnectionGate(dispatcher, { max: 1, queueMs: 1000, maxQueued: 10, timers });
  const log: string[] = [];
  gate.dispatch(options, client('a', log).handler);
  const b = controllerClient(log);
  gate.dispatch(options, b.handler);
  const c = controllerClient(log);
  gate.dispatch(options, c.handler);
  t.same(log, ['start', 'start'], 'each waiting handler was given a controller');
  b.seen.controllers[0]!.abort(new Error('client closed'));
  t.same(log, ['start', 'start', 'error:UND_ERR_ABORTED'], 'abort while waiting: the queue error');
  t.equal(gate.queued, 1);
  sent[0]!.onComplete!(null);
  t.equal(sent.length, 2, 'c was sent, b skipped');
  t.equal(c.seen.controllers.length, 2, 'c: onRequestStart again when undici connects');
  t.same([c.seen.controllers[1]!.aborted, c.seen.controllers[1]!.paused], [false, false]);
  sent[1]!.onError!(Object.assign(new Error('reset'), { code: 'UND_ERR_SOCKET' }));
  t.equal(gate.busy, 0, 'an error frees the slot');
  t.same(log.slice(-3), ['start', 'a:complete', 'error:UND_ERR_SOCKET'], 'c started when a ended (the slot frees first)');
  // Overflow and timeouts reach a controller handler as onResponseError too.
  const g2 = new ConnectionGate(recordingDispatcher().dispatcher, { max: 1, queueMs: 0, maxQueued: 10, timers });
  const log2: string[] = [];
  g2.dispatch(options, controllerClient(log2).handler);
  g2.dispatch(options, controllerClient(log2).handler);
  timers.advance(0);
  t.same(log2, ['start', 'start', 'error:saturated-timeout']);
});
