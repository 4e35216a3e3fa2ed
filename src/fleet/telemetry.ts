// Fleet-wide telemetry (CONTRACT §6): the Redis transport of the up channel (channels/types.ts).
// Each replica counts its own requests twice over — into its own Telemetry (what /metrics shows,
// per process) and into a DeltaRecorder (channels/delta-recorder.ts) — and once a second sends
// that second's TelemetryDelta to the fleet: PUBLISH for the replicas listening now, and a hash
// per second (`…:tel:<second>`, field = replica) with a TTL of one window, so a replica that
// starts or reconnects later fills its window from it.
//
// Every replica replays every delta (its own included, directly) into a fleet view: a second
// Telemetry over the same pools, whose slots are stamped with the delta's second. GET
// /api/v1/upstreams, the dashboard and the rollout analysis read that view; `?replica=ID` reads
// one replica's view. Nothing here is on the per-request path but DeltaRecorder's counting.
import type { Clock, Colour } from '../domain.ts';
import { systemClock } from '../domain.ts';
import { DeltaRecorder } from '../channels/delta-recorder.ts';
import type { TelemetryDelta } from '../channels/types.ts';
import type { Recorder } from '../metrics/recorder.ts';
import { Telemetry, type ColourSummary, type UpstreamsView } from '../metrics/telemetry.ts';
import type { ColourPool } from '../upstream/pool.ts';
import type { Target } from '../upstream/target.ts';
import { LRUCache } from 'lru-cache';
import { TurnoutError } from '../errors.ts';
import type { RedisConnection } from './connection.ts';
import type { FleetKeys } from './keys.ts';

/** A clock that reads `at` while a delta is replayed (the middle of the delta's second). */
class ReplayClock implements Clock {
  at: number | undefined;
  readonly #base: Clock;
  constructor(base: Clock) {
    this.#base = base;
  }
  now(): number {
    return this.at ?? this.#base.now();
  }
}

/** A Telemetry fed only by replayed deltas, with the latest in-flight gauges of each sender. */
class View {
  readonly clock: ReplayClock;
  readonly telemetry: Telemetry;
  constructor(pools: Readonly<Record<Colour, ColourPool>>, windowSeconds: number, clock: Clock) {
    this.clock = new ReplayClock(clock);
    this.telemetry = new Telemetry({ pools, windowSeconds, clock: this.clock });
  }
  replay(delta: TelemetryDelta, pools: Readonly<Record<Colour, ColourPool>>, maxLagSeconds: number): number {
    const now = this.clock.now();
    const lag = Math.floor(now / 1000) - delta.second;
    // A delta older than the window would land in no slot; one from the future (clock skew) now.
    if (lag > this.telemetry.windowSeconds) return 0;
    this.clock.at = lag >= 0 && lag <= maxLagSeconds ? delta.second * 1000 + 500 : lag < 0 ? now : delta.second * 1000 + 500;
    let n = 0;
    try {
      for (const cell of delta.cells) {
        const pool = pools[cell.colour];
        if (pool === undefined) continue;
        const target: Target | null = cell.target >= 0 ? (pool.targets[cell.target] ?? null) : null;
        const latency = cell.bucket >= 0 && cell.count > 0 ? cell.sumMs / cell.count : 0;
        if (cell.retried === true) {
          if (target !== null && cell.outcome !== 'ok' && cell.outcome !== 'client_abort') {
            for (let i = 0; i < cell.count; i++) this.telemetry.retry(target, latency, cell.outcome);
          }
        } else {
          for (let i = 0; i < cell.count; i++) this.telemetry.end(cell.colour, target, cell.statusClass * 100, latency, cell.outcome);
        }
        n += cell.count;
      }
    } finally {
      this.clock.at = undefined;
    }
    return n;
  }
}

export interface FleetTelemetryOptions {
  readonly id: string;
  /** This process's own Telemetry (/metrics): the recorder feeds it as before. */
  readonly local: Telemetry;
  readonly pools: Readonly<Record<Colour, ColourPool>>;
  readonly windowSeconds: number;
  readonly connection: RedisConnection;
  readonly subscriber: RedisConnection;
  readonly keys: FleetKeys;
  readonly clock?: Clock;
  /** Replicas whose own view `?replica=ID` keeps (default 32; the fleet view counts them all). */
  readonly maxReplicas?: number;
}

const GAUGE_TTL_MS = 5000;

interface Sender {
  lastSeq: number;
  /** In flight per colour and target at the sender's last delta (a gauge, not a delta). */
  inFlight: Record<Colour, number[]>;
  /** When its last delta arrived: a replica silent for GAUGE_TTL_MS (dead, or idle) counts nothing in flight. */
  seenAt: number;
  view: View;
}

export class FleetTelemetry {
  readonly windowSeconds: number;
  /** The data plane's recorder: the local Telemetry and the per-second delta. */
  readonly recorder: Recorder;
  readonly #o: FleetTelemetryOptions;
  readonly #clock: Clock;
  readonly #fleet: View;
  readonly #delta: DeltaRecorder;
  readonly #senders: LRUCache<string, Sender>;
  #timer: NodeJS.Timeout | undefined;
  /** Requests replayed into the fleet view (tests, logs). */
  merged = 0;

  constructor(options: FleetTelemetryOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.windowSeconds = options.windowSeconds;
    this.#fleet = new View(options.pools, options.windowSeconds, this.#clock);
    this.#senders = new LRUCache({ max: options.maxReplicas ?? 32 });
    const targets = { blue: options.pools.blue.targets, green: options.pools.green.targets };
    this.#delta = new DeltaRecorder({
      from: options.id,
      service: options.keys.service,
      targets,
      publisher: { send: (d) => this.#send(d) },
      now: () => this.#clock.now(),
    });
    const local = options.local;
    const delta = this.#delta;
    this.recorder = {
      begin(target) {
        local.begin(target);
        delta.begin(target);
      },
      retry(target, attemptMs, outcome) {
        local.retry(target, attemptMs, outcome);
        delta.retry(target, attemptMs, outcome);
      },
      end(colour, target, statusCode, durationMs, outcome, attemptMs) {
        local.end(colour, target, statusCode, durationMs, outcome, attemptMs);
        delta.end(colour, target, statusCode, durationMs, outcome);
      },
    };
  }

  /** Subscribes, fills the window from the per-second hashes, and flushes every second. */
  async start(): Promise<void> {
    await this.#o.subscriber.client.subscribe(this.#o.keys.telemetryChannel, (message: string) => {
      try {
        this.#receive(JSON.parse(message) as TelemetryDelta);
      } catch {
        // A malformed message is dropped: telemetry never takes the control plane down.
      }
    });
    await this.#backfill();
    this.#timer = setInterval(() => this.flush(), 1000);
    this.#timer.unref();
  }

  /** Sends this replica's counts since the last flush (the timer calls it; tests may too). */
  flush(second?: number): void {
    this.#delta.flush(second);
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#delta.flush(Math.floor(this.#clock.now() / 1000));
  }

  /** The fleet-wide S object for one colour (rollout analysis reads this). */
  colourSummary(colour: Colour, spanSeconds?: number): ColourSummary {
    return this.#withInFlight(this.#fleet.telemetry.colourSummary(colour, spanSeconds), colour, null);
  }

  /** GET /api/v1/upstreams: the fleet sum, or one replica's share. */
  upstreams(replica?: string): UpstreamsView {
    if (replica === undefined) {
      return { windowSeconds: this.windowSeconds, colours: { blue: this.colourSummary('blue'), green: this.colourSummary('green') } };
    }
    if (replica === this.#o.id) return this.#o.local.upstreams();
    const sender = this.#senders.get(replica);
    if (sender === undefined) throw new TurnoutError('TURNOUT_ERR_NOT_FOUND', `querystring.replica: no telemetry from replica "${replica}" in the window`);
    const t = sender.view.telemetry;
    const one = (c: Colour) => this.#withInFlight(t.colourSummary(c), c, sender);
    return { windowSeconds: this.windowSeconds, colours: { blue: one('blue'), green: one('green') } };
  }

  #send(delta: TelemetryDelta): void {
    // Our own share goes into the fleet view at once (not through Redis)…
    this.merged += this.#fleet.replay(delta, this.#o.pools, this.windowSeconds);
    const c = this.#o.connection;
    if (!c.up) return; // …and the others' shares of this second are lost while Redis is down.
    const json = JSON.stringify(delta);
    const key = this.#o.keys.telemetry(delta.second);
    c.run(['PUBLISH', this.#o.keys.telemetryChannel, json]).catch(() => {});
    c.run(['HSET', key, `${delta.from}:${delta.seq}`, json]).catch(() => {});
    c.run(['EXPIRE', key, String(this.windowSeconds + 5)]).catch(() => {});
  }

  #receive(delta: TelemetryDelta): void {
    // Another service's delta never counts here (each service has its own channel and hashes).
    if (delta.from === this.#o.id || typeof delta.seq !== 'number' || !Array.isArray(delta.cells)) return;
    if (delta.service !== undefined && delta.service !== this.#o.keys.service) return;
    let sender = this.#senders.get(delta.from);
    if (sender === undefined) {
      sender = { lastSeq: 0, inFlight: { blue: [], green: [] }, seenAt: 0, view: new View(this.#o.pools, this.windowSeconds, this.#clock) };
      this.#senders.set(delta.from, sender);
    }
    // Each delta once, in the sender's order (pub/sub and the backfill may both bring it).
    if (delta.seq <= sender.lastSeq) return;
    sender.lastSeq = delta.seq;
    sender.seenAt = this.#clock.now();
    for (const g of delta.targets ?? []) sender.inFlight[g.colour][g.target] = g.inFlight;
    this.merged += this.#fleet.replay(delta, this.#o.pools, this.windowSeconds);
    sender.view.replay(delta, this.#o.pools, this.windowSeconds);
  }

  async #backfill(): Promise<void> {
    const now = Math.floor(this.#clock.now() / 1000);
    const deltas: TelemetryDelta[] = [];
    for (let s = now - this.windowSeconds + 1; s <= now; s++) {
      try {
        const fields = await this.#o.connection.run<string[]>(['HGETALL', this.#o.keys.telemetry(s)]);
        // RESP2 HGETALL: [field, value, field, value…]
        for (let i = 1; i < fields.length; i += 2) deltas.push(JSON.parse(fields[i]!) as TelemetryDelta);
      } catch {
        return;
      }
    }
    deltas.sort((a, b) => a.seq - b.seq);
    for (const d of deltas) this.#receive(d);
  }

  /** In flight now: ours from the local Telemetry, the others' from their latest gauges. */
  #withInFlight(s: ColourSummary, colour: Colour, only: Sender | null): ColourSummary {
    const pool = this.#o.pools[colour];
    const now = this.#clock.now();
    const senders = (only ? [only] : [...this.#senders.values()]).filter((x) => now - x.seenAt < GAUGE_TTL_MS);
    const targets = s.targets.map((t, i) => {
      const own = only ? 0 : this.#o.local.inFlightOf(pool.targets[i]!);
      const inFlight = own + senders.reduce((sum, x) => sum + (x.inFlight[colour][i] ?? 0), 0);
      return { ...t, inFlight };
    });
    return { ...s, inFlight: targets.reduce((sum, t) => sum + t.inFlight, 0), targets };
  }
}
