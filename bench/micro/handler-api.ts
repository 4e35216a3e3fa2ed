// `node bench/micro/handler-api.ts`: what undici's controller-based handler API costs per
// request against the deprecated callback API, in one process (issue 19 item 5). In undici 7
// a handler with onRequestStart runs behind UnwrapHandler: one more object pair per attempt and
// a parseHeaders() of the raw headers per response. Two parts:
//  1. parseHeaders() and both header-forwarding functions on a typical header block (ns/op);
//  2. loopback requests through a Pool, both handler shapes interleaved, CPU µs per request.
// (The interim-100 tolerance, src/upstream/interim-continue.ts, wraps undici's parser class once
// for the whole process, so it cannot be compared side by side in one process; it adds one call
// per response header block.)
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { Pool, type Dispatcher } from 'undici';
import { forwardParsedResponseHeaders, forwardResponseHeaders } from '../../src/proxy/headers.ts';

const require = createRequire(import.meta.url);
const { parseHeaders } = require('undici/lib/core/util') as { parseHeaders: (raw: Buffer[]) => Record<string, string | string[]> };

const raw = ['content-type', 'text/plain; charset=utf-8', 'content-length', '11', 'date', new Date().toUTCString(), 'connection', 'keep-alive', 'keep-alive', 'timeout=5', 'x-colour', 'blue'].map((s) => Buffer.from(s, 'latin1'));
function nsPerOp(name: string, f: () => number): void {
  const n = 1_000_000;
  for (let i = 0; i < 100_000; i++) f();
  const t0 = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < n; i++) sink += f();
  const ns = Number(process.hrtime.bigint() - t0) / n;
  process.stdout.write(`${name}: ${ns.toFixed(0)} ns/op${sink > 0 ? '' : ' (?)'}\n`);
}
const parsed = parseHeaders(raw);
nsPerOp('undici parseHeaders (6 fields; paid by undici for a controller handler)', () => Object.keys(parseHeaders(raw)).length);
nsPerOp('forwardResponseHeaders(raw Buffers)', () => forwardResponseHeaders(raw).length);
nsPerOp('forwardParsedResponseHeaders(parsed)', () => forwardParsedResponseHeaders(parsed).length);
const origin = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'x-colour': 'blue' });
  res.end('hello world');
});
await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
const plainPool = new Pool(originUrl, { connections: 16 });
const opts: Dispatcher.DispatchOptions = { path: '/', method: 'GET', headers: { host: 'h' } };

function legacy(done: () => void): Dispatcher.DispatchHandler {
  return {
    onConnect() {},
    onHeaders(_s: number, rawHeaders: Buffer[]) { return rawHeaders.length > 0; },
    onData() { return true; },
    onComplete() { done(); },
    onError() { done(); },
  } as unknown as Dispatcher.DispatchHandler;
}
function controller(done: () => void): Dispatcher.DispatchHandler {
  return {
    onRequestStart() {},
    onResponseStart(c) { void (c.rawHeaders as Buffer[]).length; },
    onResponseData() {},
    onResponseEnd() { done(); },
    onResponseError() { done(); },
  };
}

async function run(make: (done: () => void) => Dispatcher.DispatchHandler, total: number, pool: Pool = plainPool): Promise<number> {
  const cpu0 = process.cpuUsage();
  let sent = 0;
  await new Promise<void>((resolve) => {
    let finished = 0;
    const next = (): void => {
      if (sent >= total) return;
      sent++;
      pool.dispatch(opts, make(() => { if (++finished === total) resolve(); else next(); }));
    };
    for (let i = 0; i < 32; i++) next();
  });
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / total;
}

const rounds = Number(process.argv[2] ?? 8);
const per = Number(process.argv[3] ?? 20_000);
await run(legacy, per);
await run(controller, per);
const a: number[] = [];
const b: number[] = [];
for (let i = 0; i < rounds; i++) {
  a.push(await run(legacy, per));
  b.push(await run(controller, per));
  process.stdout.write(`round ${i + 1}: callback ${a.at(-1)!.toFixed(1)} µs/req, controller ${b.at(-1)!.toFixed(1)} µs/req\n`);
}
const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
process.stdout.write(`median CPU per request (client + origin, one process): callback ${median(a).toFixed(1)} µs, controller ${median(b).toFixed(1)} µs\n`);
await plainPool.close();
origin.close();
