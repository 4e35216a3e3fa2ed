// `node bench/micro/gate-handler.ts [iterations]`: what one request's handler plumbing costs
// between the connection gate and undici's core, with no sockets: a dispatcher that does what
// undici 7's DispatcherBase.dispatch does to a handler (UnwrapHandler.unwrap) and then calls the
// callbacks its Request calls for a small 200 answer (onConnect, onHeaders with six raw fields,
// one onData, onComplete with no trailers). The handler is Exchange's shape (the controller API).
// Shapes, interleaved, CPU ns per request:
//   direct      the controller handler straight to undici (what the minimal undici proxy pays)
//   gate        through src/upstream/connection-gate.ts. Copied into an older tree (git worktree),
//               the same file measures that tree's gate: before this change, a forwarding wrapper
//               that undici's UnwrapHandler then wrapped again; now one object that speaks the
//               callbacks to undici and is the handler's controller.
// Deterministic enough for `valgrind --tool=callgrind` (instructions per request: with a shape
// name as the second argument it counts N iterations between two prompts; bench/micro/callgrind.sh).
import { createRequire } from 'node:module';
import type { Dispatcher } from 'undici';
import { ConnectionGate } from '../../src/upstream/connection-gate.ts';

const require = createRequire(import.meta.url);
const UnwrapHandler = require('undici/lib/handler/unwrap-handler.js') as { unwrap(h: Dispatcher.DispatchHandler): Dispatcher.DispatchHandler };

const raw = ['content-type', 'text/plain; charset=utf-8', 'content-length', '11', 'date', new Date().toUTCString(), 'connection', 'keep-alive', 'keep-alive', 'timeout=5', 'x-colour', 'blue'].map((s) => Buffer.from(s, 'latin1'));
const chunk = Buffer.from('hello world');
const noop = (): void => {};
const trailers: Buffer[] = [];

/** undici's core as a handler sees it: unwrap, then the callbacks of one answered request. */
const core = {
  dispatch(_options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const h = UnwrapHandler.unwrap(handler) as Required<Pick<Dispatcher.DispatchHandler, 'onConnect' | 'onHeaders' | 'onData' | 'onComplete'>>;
    h.onConnect(noop);
    h.onHeaders(200, raw, noop, 'OK');
    h.onData(chunk);
    h.onComplete(trailers as unknown as string[]);
    return true;
  },
} as unknown as Dispatcher;

let sink = 0;
/** Exchange's shape, doing almost nothing: keeps the controller, reads the parsed headers. */
class Handler implements Dispatcher.DispatchHandler {
  controller: Dispatcher.DispatchController | undefined;
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
  }
  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    sink += statusCode + (headers['content-length'] === undefined ? 0 : 1);
  }
  onResponseData(_c: Dispatcher.DispatchController, data: Buffer): void {
    sink += data.length;
  }
  onResponseEnd(): void {
    sink++;
  }
  onResponseError(): void {
    sink--;
  }
}

const options = { path: '/', method: 'GET' } as Dispatcher.DispatchOptions;
const gate = new ConnectionGate(core, { max: 1024, queueMs: 1000, maxQueued: 16 });
const shapes: Record<string, () => void> = {
  direct: () => void core.dispatch(options, new Handler()),
  gate: () => void gate.dispatch(options, new Handler()),
};

const n = Number(process.argv[2] ?? 1_000_000);
const only = process.argv[3];
const run = (name: string, count: number): number => {
  const f = shapes[name]!;
  // CPU time, not wall time: on a shared machine the process is often descheduled.
  const t0 = process.cpuUsage();
  for (let i = 0; i < count; i++) f();
  const t = process.cpuUsage(t0);
  return ((t.user + t.system) * 1000) / count;
};
if (only !== undefined) {
  // One shape only, for callgrind: warm up, print WARM, wait for a line on stdin (time to run
  // `callgrind_control -i on PID`), run N iterations, print DONE, wait for another line.
  run(only, 200_000);
  const lines = (await import('node:readline')).createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  process.stdout.write('WARM\n');
  await lines.next();
  run(only, n);
  process.stdout.write('DONE\n');
  await lines.next();
  process.exit(0);
} else {
  for (const name of Object.keys(shapes)) run(name, 200_000);
  const results: Record<string, number[]> = { direct: [], gate: [] };
  for (let r = 0; r < 7; r++) for (const name of Object.keys(shapes)) results[name]!.push(run(name, n));
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  for (const [name, xs] of Object.entries(results)) process.stdout.write(`${name}: ${median(xs).toFixed(0)} CPU ns/request (median of 7 × ${n})\n`);
}
if (sink === 42) process.stdout.write('\n');
