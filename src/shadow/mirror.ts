// Mirroring (CONTRACT §9): a sampled request served by the active colour is also sent to the idle
// colour (and, to learn noise, sometimes to a second active target) through pools of its own:
// own connections, own timeouts, never retried, never recorded in the colours' windows. The
// client's answer never waits: the live side is tapped as it streams (LiveTap, called from
// Exchange), the shadow's answer is read in the background, and the pair is compared when both
// have ended. A request body is copied as the live target reads it and replayed once it has
// ended (request-tee.ts). Memory is bounded by one global budget: a pair that does not fit is
// dropped and counted, never queued.
import type { IncomingMessage } from 'node:http';
import { Pool } from 'undici';
import type { Colour, RandomSource } from '../domain.ts';
import type { ShadowConfig } from '../config/types.ts';
import type { RoutingSnapshot } from '../state/model.ts';
import { AnswerCapture, headersFromRaw, MemoryBudget } from './capture.ts';
import { compareAnswers, compileJsonPaths, type CompareOptions, type MismatchKind } from './compare.ts';
import { Noise } from './noise.ts';
import { RequestTee } from './request-tee.ts';
import { ShadowStats, type ShadowCounts, type ShadowView } from './stats.ts';

/** What Exchange calls on the live side of a mirrored request. Each call is cheap and never blocks. */
export interface LiveTap {
  /** `target`: the live target's URL (a noise copy goes to another target of the same colour). */
  headers(status: number, raw: readonly Buffer[], target: string): void;
  data(chunk: Buffer): void;
  end(): void;
  /** The live side did not complete (client gone, upstream failure): the pair is not compared. */
  fail(): void;
}

/** The per-request entry point the data plane sees; called only when snapshot.shadowPercent > 0. */
export interface ShadowHook {
  begin(req: IncomingMessage, headers: Record<string, string | string[]>, served: Colour, snapshot: RoutingSnapshot): LiveTap | undefined;
}

/** Budget charged per pair side in flight besides its body bytes (sockets, objects, buffers). */
export const SIDE_OVERHEAD_BYTES = 16 * 1024;

export interface ShadowerOptions {
  readonly config: ShadowConfig;
  /** Target URLs of each colour (the config's upstreams). */
  readonly targets: Readonly<Record<Colour, readonly string[]>>;
  readonly random?: RandomSource;
  /** ISO time of a sample. */
  readonly now?: () => number;
}

export class Shadower implements ShadowHook {
  readonly stats = new ShadowStats();
  readonly noise = new Noise();
  readonly config: ShadowConfig;
  readonly budget: MemoryBudget;
  readonly compare: CompareOptions;
  readonly now: () => number;
  private readonly random: RandomSource;
  private readonly methods: ReadonlySet<string>;
  private readonly pools: Record<Colour, Pool[]>;
  private readonly next: Record<Colour, number> = { blue: 0, green: 0 };
  private readonly origins = new Map<Pool, string>();

  constructor(options: ShadowerOptions) {
    const config = options.config;
    this.config = config;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.methods = new Set(config.methods);
    this.budget = new MemoryBudget(config.memoryBytes);
    this.compare = { ignoreHeaders: new Set(config.ignoreHeaders), ignoreJsonPaths: compileJsonPaths(config.ignoreJsonPaths), maxDifferences: 100 };
    const pool = (url: string) =>
      new Pool(new URL(url).origin, {
        connections: 64,
        connectTimeout: config.timeoutMs,
        headersTimeout: config.timeoutMs,
        bodyTimeout: config.timeoutMs,
        keepAliveTimeout: 4_000,
        pipelining: 1,
      });
    this.pools = { blue: options.targets.blue.map(pool), green: options.targets.green.map(pool) };
    for (const colour of ['blue', 'green'] as const) options.targets[colour].forEach((url, i) => this.origins.set(this.pools[colour][i]!, new URL(url).origin));
  }

  begin(req: IncomingMessage, headers: Record<string, string | string[]>, served: Colour, snapshot: RoutingSnapshot): LiveTap | undefined {
    if (served !== snapshot.active) return undefined; // only the active colour's answers are the reference
    if (this.random() * 100 >= snapshot.shadowPercent) return undefined;
    if (!this.methods.has(req.method!)) return undefined;
    // A body (shadow.methods may allow POST…) is mirrored when it fits in maxBodyBytes: copied as
    // the live target reads it (request-tee.ts) and replayed whole once it has ended. One longer
    // than that is never buffered: the shadow is dropped and counted, the client unaffected.
    const length = req.headers['content-length'];
    const hasBody = length !== undefined ? length !== '0' : req.headers['transfer-encoding'] !== undefined;
    if (hasBody && length !== undefined && Number(length) > this.config.maxBodyBytes) {
      this.stats.dropped++;
      return undefined;
    }
    const active = snapshot.active;
    const idle = snapshot.canary;
    const withNoise = this.pools[active].length >= 2 && this.random() * 100 < this.config.noisePercent;
    const overhead = SIDE_OVERHEAD_BYTES * (withNoise ? 3 : 2);
    if (!this.budget.tryTake(overhead)) {
      this.stats.dropped++;
      return undefined;
    }
    const outgoing = shadowHeaders(headers);
    const pair = new Pair(this, req.method!, req.url!, overhead, withNoise ? { colour: active, headers: outgoing } : undefined);
    if (hasBody) pair.teeBody(req);
    pair.send('shadow', this.pick(idle), outgoing);
    return pair;
  }

  /** A worker's report (report.ts), added by the control plane: its counts, noise and samples. */
  absorb(counts: ShadowCounts): void {
    this.stats.absorb(counts);
    for (const n of counts.noise) this.noise.add(n.key, n.seen);
  }

  /** GET /api/v1/shadow's answer (the percent is the snapshot's). */
  view(percent: number): ShadowView {
    return this.stats.view(percent, this.noise.list());
  }

  /** The next shadow pool of the colour, round robin, skipping the target `except` (a URL origin). */
  pick(colour: Colour, except?: string): Pool {
    const pools = this.pools[colour];
    for (let i = 0; i < pools.length; i++) {
      const pool = pools[this.next[colour] % pools.length]!;
      this.next[colour] = (this.next[colour] + 1) % pools.length;
      if (except === undefined || this.origins.get(pool) !== except) return pool;
    }
    return pools[0]!;
  }

  async close(): Promise<void> {
    // Shadows in flight are nobody's answer: cut them rather than wait for them.
    await Promise.all([...this.pools.blue, ...this.pools.green].map((p) => p.destroy()));
  }
}

type Side = 'live' | 'shadow' | 'noise';

/** One mirrored request: the live answer, the idle colour's, and maybe a second active target's. */
class Pair implements LiveTap {
  private readonly captures: Partial<Record<Side, AnswerCapture>> = {};
  private readonly ok: Partial<Record<Side, boolean>> = {};
  private readonly aborts: AbortController[] = [];
  private pending = 1;
  private liveSettled = false;
  private dropped = false;
  /** The request body to replay (request-tee.ts); undefined: no body, or not ended yet (see `waiting`). */
  private tee: RequestTee | undefined;
  private body: Buffer | undefined;
  /** Sends held until the request body has ended. */
  private waiting: (() => void)[] | undefined;
  /** The client's request body never ended: nothing to compare. */
  private bodyAborted = false;

  private readonly owner: Shadower;
  private readonly method: string;
  private readonly path: string;
  private readonly overhead: number;
  /** A noise copy to send once the live target is known (Diffy: two copies of the active version). */
  private readonly noiseCopy: { colour: Colour; headers: Record<string, string | string[]> } | undefined;

  constructor(owner: Shadower, method: string, path: string, overhead: number, noiseCopy: Pair['noiseCopy']) {
    this.noiseCopy = noiseCopy;
    this.owner = owner;
    this.method = method;
    this.path = path;
    this.overhead = overhead;
    this.captures.live = new AnswerCapture(owner.config.maxBodyBytes, owner.budget);
  }

  /** Copies the request body as the live side reads it; the sends wait for its end. */
  teeBody(req: IncomingMessage): void {
    this.waiting = [];
    this.tee = new RequestTee(req, this.owner.config.maxBodyBytes, this.owner.budget, (outcome) => {
      const waiting = this.waiting ?? [];
      this.waiting = undefined;
      if (outcome.ok) {
        this.body = outcome.body;
      } else {
        // Too large: dropped and counted once the live side is done; aborted: not compared.
        if (outcome.why === 'aborted') this.bodyAborted = true;
        this.drop();
      }
      for (const send of waiting) send();
    });
  }

  send(side: 'shadow' | 'noise', pool: Pool, headers: Record<string, string | string[]>): void {
    const capture = new AnswerCapture(this.owner.config.maxBodyBytes, this.owner.budget);
    this.captures[side] = capture;
    this.pending++;
    if (this.waiting !== undefined) {
      this.waiting.push(() => this.start(side, pool, headers, capture));
      return;
    }
    this.start(side, pool, headers, capture);
  }

  private start(side: 'shadow' | 'noise', pool: Pool, headers: Record<string, string | string[]>, capture: AnswerCapture): void {
    if (this.dropped) {
      this.settle(side, false);
      return;
    }
    const abort = new AbortController();
    this.aborts.push(abort);
    void this.read(pool, headers, capture, abort).then(
      () => this.settle(side, true),
      () => this.settle(side, false),
    );
  }

  private async read(pool: Pool, headers: Record<string, string | string[]>, capture: AnswerCapture, abort: AbortController): Promise<void> {
    const body = this.body;
    const res = await pool.request({
      path: this.path,
      method: this.method as 'GET',
      headers: body === undefined ? headers : { ...headers, 'content-length': String(body.length) },
      body: body ?? null,
      signal: abort.signal,
    });
    capture.status = res.statusCode;
    capture.headers = flatten(res.headers);
    for await (const chunk of res.body) {
      capture.body.push(chunk as Buffer);
      if (capture.body.overBudget) this.drop();
    }
  }

  private drop(): void {
    if (this.dropped) return;
    this.dropped = true;
    for (const a of this.aborts) a.abort();
  }

  // --- LiveTap: called by Exchange on the live side, in order ---------------------------------
  headers(status: number, raw: readonly Buffer[], target: string): void {
    const live = this.captures.live!;
    live.status = status;
    live.headers = headersFromRaw(raw);
    if (this.noiseCopy !== undefined && !this.dropped) {
      this.send('noise', this.owner.pick(this.noiseCopy.colour, target), this.noiseCopy.headers);
    }
  }

  data(chunk: Buffer): void {
    if (this.liveSettled || this.dropped) return;
    const body = this.captures.live!.body;
    body.push(chunk);
    if (body.overBudget) this.drop();
  }

  end(): void {
    if (this.liveSettled) return;
    this.liveSettled = true;
    this.settle('live', true);
  }

  fail(): void {
    if (this.liveSettled) return;
    this.liveSettled = true;
    this.drop(); // nothing to compare against: stop the shadow's work too
    this.settle('live', false);
  }

  private settle(side: Side, ok: boolean): void {
    this.ok[side] = ok;
    if (--this.pending > 0) return;
    const owner = this.owner;
    const { live, shadow, noise } = this.captures;
    owner.budget.give(this.overhead);
    this.tee?.release();
    const answers = { live: live!.answer(), shadow: shadow!.answer(), noise: noise?.answer() };
    for (const c of [live, shadow, noise]) c?.body.release();
    const stats = owner.stats;
    if (!this.ok.live || this.bodyAborted) return stats.count('aborted');
    if (this.dropped) {
      stats.dropped++;
      return;
    }
    if (!this.ok.shadow) return stats.count('error');
    if (answers.noise && this.ok.noise) {
      // Two copies of the active version: whatever differs between them is noise.
      owner.noise.learn(compareAnswers(answers.live, answers.noise, owner.compare).map((d) => d.key));
    }
    const differences = compareAnswers(answers.live, answers.shadow, owner.compare).filter((d) => !owner.noise.has(d.key));
    if (differences.length === 0) return stats.count('match');
    const kinds = [...new Set(differences.map((d) => d.kind))] as MismatchKind[];
    stats.mismatch({
      at: new Date(owner.now()).toISOString(),
      method: this.method,
      path: this.path.length > 200 ? `${this.path.slice(0, 197)}...` : this.path,
      kinds,
      first: differences[0]!.path,
      differences: differences.slice(0, 5),
    });
  }
}

/** undici's response headers object → lower-case names, arrays joined (as headersFromRaw does). */
function flatten(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * The live request's forwarded headers, marked as a shadow. The body is replayed whole, so its
 * framing is ours: Content-Length is set per request from the copied bytes (undici refuses a
 * Transfer-Encoding header, and a chunked upload has no length to forward).
 */
function shadowHeaders(headers: Record<string, string | string[]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    if (name !== 'content-length' && name !== 'transfer-encoding') out[name] = headers[name]!;
  }
  out['x-turnout-shadow'] = '1';
  return out;
}
