// Capturing one side of a pair as it streams (CONTRACT §9): every chunk is hashed and counted,
// and kept (by reference, no copy) while the body fits in maxBodyBytes and the global budget has
// room. The live side calls push() from Exchange.onData before writing to the client: it never
// waits, and it never holds more than maxBodyBytes.
import { createHash, type Hash } from 'node:crypto';
import type { Answer, CapturedBody } from './compare.ts';

/** The global memory budget of every pair in flight (shadow.memoryBytes). */
export class MemoryBudget {
  readonly limit: number;
  used = 0;
  constructor(limit: number) {
    this.limit = limit;
  }
  tryTake(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }
  give(bytes: number): void {
    this.used -= bytes;
  }
}

export class BodyCapture {
  private readonly hash: Hash = createHash('sha1');
  private chunks: Buffer[] | null = [];
  private length = 0;
  private held = 0;
  /** Set when the budget ran out: the pair is dropped. */
  overBudget = false;

  private readonly maxBytes: number;
  private readonly budget: MemoryBudget;

  constructor(maxBytes: number, budget: MemoryBudget) {
    this.maxBytes = maxBytes;
    this.budget = budget;
  }

  push(chunk: Buffer): void {
    this.length += chunk.length;
    this.hash.update(chunk);
    if (this.chunks === null) return;
    if (this.held + chunk.length > this.maxBytes) {
      // Too long to compare structurally: from here on only length and hash count.
      this.release();
      return;
    }
    if (!this.budget.tryTake(chunk.length)) {
      this.overBudget = true;
      this.release();
      return;
    }
    this.held += chunk.length;
    this.chunks.push(chunk);
  }

  /** Gives the held bytes back to the budget (idempotent). */
  release(): void {
    this.budget.give(this.held);
    this.held = 0;
    this.chunks = null;
  }

  result(): CapturedBody {
    return { length: this.length, hash: this.hash.digest('hex'), bytes: this.chunks === null ? null : Buffer.concat(this.chunks) };
  }
}

/** Raw undici header lines (name, value, name, value…) → lower-case names, repeats joined. */
export function headersFromRaw(raw: readonly Buffer[] | readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString().toLowerCase();
    const value = raw[i + 1]!.toString();
    out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`;
  }
  return out;
}

/** One side's answer being captured: status and headers once, then the body. */
export class AnswerCapture {
  status = 0;
  headers: Record<string, string> = {};
  readonly body: BodyCapture;
  constructor(maxBytes: number, budget: MemoryBudget) {
    this.body = new BodyCapture(maxBytes, budget);
  }
  answer(): Answer {
    return { status: this.status, headers: this.headers, body: this.body.result() };
  }
}
