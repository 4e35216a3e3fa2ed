// The request body of a mirrored request (CONTRACT §9: methods in shadow.methods, bodies up to
// shadow.maxBodyBytes): a copy of every chunk as the live side's consumer reads it, kept (by
// reference, charged to the global budget) until the body has ended, then replayed to the idle
// colour whole. The idle colour so never sees a truncated body, and the client's request is never
// delayed: the tee only watches.
//
// How it watches: by wrapping this one request's `emit`. Every chunk a Readable hands out goes
// through `emit('data')` (flowing mode and read() alike), so the copy sees exactly what undici (or
// request-buffer.ts) reads, when it reads it. The two obvious alternatives both change the live
// request: a 'data' listener switches the stream to flowing before undici has attached its own,
// so the first chunks would never reach the live target; a PassThrough between the request and
// undici adds a stream hop and its own backpressure and error semantics to the client's upload.
// Only requests that are mirrored and carry a body are wrapped; every other request is untouched.
import type { Readable } from 'node:stream';
import type { MemoryBudget } from './capture.ts';

export type TeeOutcome =
  | { readonly ok: true; readonly body: Buffer }
  /** `too_large`: past maxBodyBytes (or the budget): the shadow is dropped and counted. `aborted`: the body never ended. */
  | { readonly ok: false; readonly why: 'too_large' | 'aborted' };

export class RequestTee {
  private chunks: Buffer[] = [];
  private held = 0;
  private settled = false;
  private readonly maxBytes: number;
  private readonly budget: MemoryBudget;
  private readonly done: (outcome: TeeOutcome) => void;
  private readonly req: Readable;
  private readonly ownEmit: boolean;
  private readonly emit: Readable['emit'];

  constructor(req: Readable, maxBytes: number, budget: MemoryBudget, done: (outcome: TeeOutcome) => void) {
    this.req = req;
    this.maxBytes = maxBytes;
    this.budget = budget;
    this.done = done;
    this.ownEmit = Object.hasOwn(req, 'emit');
    const emit = req.emit;
    this.emit = emit;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const tee = this;
    req.emit = function (this: Readable, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'data') tee.push(args[0] as Buffer);
      // The live side hears of the end first; the shadow's work starts after.
      const heard = emit.call(this, event, ...args);
      if (event === 'end') tee.settle({ ok: true, body: tee.chunks.length === 1 ? tee.chunks[0]! : Buffer.concat(tee.chunks, tee.held) });
      else if (event === 'close' || event === 'error') tee.settle({ ok: false, why: 'aborted' });
      return heard;
    } as Readable['emit'];
  }

  private push(chunk: Buffer): void {
    if (this.settled) return;
    if (this.held + chunk.length > this.maxBytes || !this.budget.tryTake(chunk.length)) {
      this.settle({ ok: false, why: 'too_large' });
      return;
    }
    this.held += chunk.length;
    this.chunks.push(chunk);
  }

  private settle(outcome: TeeOutcome): void {
    if (this.settled) return;
    this.settled = true;
    // Nothing more to watch: the request's emit is its own again.
    if (this.ownEmit) this.req.emit = this.emit;
    else delete (this.req as { emit?: unknown }).emit;
    this.chunks = [];
    if (!outcome.ok) this.release();
    this.done(outcome);
  }

  /** Gives the body's bytes back to the budget once the shadow requests are done with them (idempotent). */
  release(): void {
    this.budget.give(this.held);
    this.held = 0;
  }
}
