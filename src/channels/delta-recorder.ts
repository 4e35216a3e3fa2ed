// The worker side of the up channel: a Recorder (metrics/recorder.ts, the one call the data plane
// makes per request) that only counts, and once a second hands what it counted to a
// TelemetryPublisher as one TelemetryDelta. Per request: one integer key, one Map lookup, two
// additions; no window, no histogram, no allocation once a combination was seen in the second.
//
// The Map is bounded by construction: its keys are combinations of colour × target (fixed by the
// config) × status class (6) × outcome (7) × latency bucket (fixed histogram), and it is
// emptied every second.
import { COLOURS, ERROR_KINDS, type Colour, type Outcome } from '../domain.ts';
import type { Recorder } from '../metrics/recorder.ts';
import { bucketOf, BUCKET_COUNT } from '../metrics/histogram.ts';
import { LATENCY_BUCKETS_SECONDS, statusClassIndex } from '../metrics/totals.ts';
import type { Target } from '../upstream/target.ts';
import {
  DEFAULT_SERVICE,
  type DataPlaneId,
  type ServiceId,
  type StatusClassIndex,
  type TargetGauge,
  type TelemetryCell,
  type TelemetryDelta,
  type TelemetryPublisher,
} from './types.ts';

/** Every outcome, in a fixed order (the key's outcome digit). */
export const OUTCOMES: readonly Outcome[] = Object.freeze(['ok', 'client_abort', ...ERROR_KINDS]);
const OUTCOME_INDEX = new Map<Outcome, number>(OUTCOMES.map((o, i) => [o, i]));

const PROM_BOUNDS_MS = LATENCY_BUCKETS_SECONDS.map((s) => s * 1000);
/** Prometheus buckets including +Inf. */
export const PROM_BUCKETS = PROM_BOUNDS_MS.length + 1;

/** TelemetryCell.bucket for a latency: fine histogram bucket × PROM_BUCKETS + Prometheus bucket. */
export function cellBucketOf(latencyMs: number): number {
  let b = 0;
  while (b < PROM_BOUNDS_MS.length && latencyMs > PROM_BOUNDS_MS[b]!) b++;
  return bucketOf(latencyMs) * PROM_BUCKETS + b;
}

const LATENCY_DIGITS = BUCKET_COUNT * PROM_BUCKETS + 1; // +1: "no latency"

interface Cell {
  readonly colour: Colour;
  readonly target: number;
  readonly statusClass: StatusClassIndex;
  readonly outcome: Outcome;
  readonly bucket: number;
  count: number;
  sumMs: number;
}

export interface DeltaRecorderOptions {
  readonly from: DataPlaneId;
  readonly service?: ServiceId;
  /** Targets per colour (fixed by the config). */
  readonly targets: Readonly<Record<Colour, readonly Target[]>>;
  readonly publisher: TelemetryPublisher;
  readonly now?: () => number;
}

export class DeltaRecorder implements Recorder {
  readonly #from: DataPlaneId;
  readonly #service: ServiceId;
  readonly #targets: Readonly<Record<Colour, readonly Target[]>>;
  readonly #publisher: TelemetryPublisher;
  readonly #now: () => number;
  /** Rows per colour: targets + 1 (the last: no target). */
  readonly #rows: number;
  #cells = new Map<number, Cell>();
  readonly #begun: Record<Colour, Int32Array>;
  readonly #inFlight: Record<Colour, Int32Array>;
  /** Gauges as last sent: an idle second with unchanged gauges sends nothing. */
  #lastGauges = '';
  #seq = 0;

  constructor(options: DeltaRecorderOptions) {
    this.#from = options.from;
    this.#service = options.service ?? DEFAULT_SERVICE;
    this.#targets = options.targets;
    this.#publisher = options.publisher;
    this.#now = options.now ?? Date.now;
    this.#rows = Math.max(...COLOURS.map((c) => options.targets[c].length)) + 1;
    this.#begun = { blue: new Int32Array(options.targets.blue.length), green: new Int32Array(options.targets.green.length) };
    this.#inFlight = { blue: new Int32Array(options.targets.blue.length), green: new Int32Array(options.targets.green.length) };
  }

  begin(target: Target): void {
    const i = target.index;
    const inFlight = this.#inFlight[target.colour];
    if (i < inFlight.length) {
      inFlight[i]!++;
      this.#begun[target.colour][i]!++;
    }
  }

  end(colour: Colour, target: Target | null, statusCode: number, durationMs: number, outcome: Outcome): void {
    // As metrics/telemetry.ts: only an exchange with a target has a latency.
    const hasTarget = target !== null && target.colour === colour && target.index < this.#inFlight[colour].length;
    const row = hasTarget ? target.index : this.#rows - 1;
    if (hasTarget && this.#inFlight[colour][row]! > 0) this.#inFlight[colour][row]!--;
    const bucket = target === null ? -1 : cellBucketOf(durationMs > 0 ? durationMs : 0);
    const sc = statusClassIndex(statusCode) as StatusClassIndex;
    const oi = OUTCOME_INDEX.get(outcome) ?? 0;
    const key = ((((colour === 'blue' ? 0 : 1) * this.#rows + row) * 6 + sc) * OUTCOMES.length + oi) * LATENCY_DIGITS + bucket + 1;
    let cell = this.#cells.get(key);
    if (cell === undefined) {
      cell = { colour, target: hasTarget ? row : -1, statusClass: sc, outcome, bucket, count: 0, sumMs: 0 };
      this.#cells.set(key, cell);
    }
    cell.count++;
    if (bucket >= 0) cell.sumMs += durationMs > 0 ? durationMs : 0;
  }

  /**
   * Sends what was counted since the last flush as the delta of `second` (default: the second
   * that just ended) and starts over. Sends nothing when nothing was counted and no gauge moved.
   */
  flush(second: number = Math.floor(this.#now() / 1000) - 1): TelemetryDelta | undefined {
    const cells: TelemetryCell[] = [];
    for (const c of this.#cells.values()) {
      cells.push({ colour: c.colour, target: c.target, statusClass: c.statusClass, outcome: c.outcome, bucket: c.bucket, count: c.count, sumMs: c.sumMs });
    }
    this.#cells = new Map();
    const targets: TargetGauge[] = [];
    let begunAny = false;
    for (const colour of COLOURS) {
      this.#targets[colour].forEach((target, i) => {
        const begun = this.#begun[colour][i]!;
        begunAny ||= begun > 0;
        targets.push({ colour, target: i, begun, inFlight: this.#inFlight[colour][i]!, ejectedUntil: target.ejectedUntil });
      });
      this.#begun[colour].fill(0);
    }
    const gauges = targets.map((g) => `${g.inFlight}/${g.ejectedUntil}`).join(',');
    if (cells.length === 0 && !begunAny && gauges === this.#lastGauges) return undefined;
    this.#lastGauges = gauges;
    const delta: TelemetryDelta = { service: this.#service, from: this.#from, second, seq: ++this.#seq, cells, targets };
    this.#publisher.send(delta);
    return delta;
  }
}
