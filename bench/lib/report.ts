// From raw rounds to the figures the table and the verdicts show: medians of per-round values,
// ratios computed within each round and then medianed (a slow round slows both sides).
import type { Round } from '../scenarios/throughput.ts';
import type { LatencyRound } from '../scenarios/latency.ts';
import type { FlipResult } from '../scenarios/flip.ts';
import type { TransferResult } from '../scenarios/memory.ts';
import { median } from './stats.ts';

export interface ThroughputSummary {
  readonly rps: number;
  readonly p99: number;
  readonly cpuCores: number | null;
  readonly cpuUsPerReq: number | null;
  readonly peakRssBytes: number | null;
  readonly errors: number;
  readonly non2xx: number;
}

export function summariseThroughput(rounds: readonly Round[], id: string): ThroughputSummary | null {
  const samples = rounds.map((r) => r[id]).filter((s) => s !== undefined);
  if (samples.length === 0) return null;
  const nums = (pick: (s: (typeof samples)[number]) => number | null) => samples.map(pick).filter((v): v is number => v !== null);
  const cpu = nums((s) => s.cpuCores);
  const perReq = nums((s) => s.cpuUsPerReq);
  const rss = nums((s) => s.peakRssBytes);
  return {
    rps: median(samples.map((s) => s.rps)),
    p99: median(samples.map((s) => s.p99)),
    cpuCores: cpu.length ? median(cpu) : null,
    cpuUsPerReq: perReq.length ? median(perReq) : null,
    peakRssBytes: rss.length ? Math.max(...rss) : null,
    errors: samples.reduce((n, s) => n + s.errors, 0),
    non2xx: samples.reduce((n, s) => n + s.non2xx, 0),
  };
}

/** Median over rounds of (a's req/s ÷ b's req/s) in the same round. */
export function medianRatio(rounds: readonly Round[], a: string, b: string): number | null {
  const ratios = rounds.filter((r) => r[a] && r[b] && r[b].rps > 0).map((r) => r[a]!.rps / r[b]!.rps);
  return ratios.length ? median(ratios) : null;
}

export interface LatencySummary {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  /** Over direct-to-origin in the same round, ms; null without a direct measurement. */
  readonly addedP50: number | null;
  readonly addedP99: number | null;
  readonly errors: number;
  readonly tool: string;
}

export function summariseLatency(rounds: readonly LatencyRound[], id: string, baseline = 'direct'): LatencySummary | null {
  const samples = rounds.map((r) => r[id]).filter((s) => s !== undefined);
  if (samples.length === 0) return null;
  const paired = rounds.filter((r) => r[id] && r[baseline]);
  return {
    rps: median(samples.map((s) => s.rps)),
    p50: median(samples.map((s) => s.p50)),
    p99: median(samples.map((s) => s.p99)),
    addedP50: paired.length ? median(paired.map((r) => r[id]!.p50 - r[baseline]!.p50)) : null,
    addedP99: paired.length ? median(paired.map((r) => r[id]!.p99 - r[baseline]!.p99)) : null,
    errors: samples.reduce((n, s) => n + s.errors + s.non2xx, 0),
    tool: samples[0]!.tool,
  };
}

export interface Verdict {
  readonly target: string;
  /** true: met, false: MISSED, null: not measured. */
  readonly met: boolean | null;
  readonly value: string;
}

export function verdictLine(v: Verdict): string {
  const tag = v.met === null ? 'NOT MEASURED' : v.met ? 'MET' : 'MISSED';
  return `${tag.padEnd(12)} ${v.target}: ${v.value}`;
}

export interface VerdictInputs {
  readonly turnoutId: string;
  readonly turnoutIds: readonly string[];
  /** Turnout run with a capped young generation: reported beside the RSS target, not instead of it. */
  readonly lowMem?: { readonly id: string; readonly flags: string };
  readonly throughput: readonly Round[];
  readonly latency: readonly LatencyRound[];
  readonly flip: FlipResult | null;
  /** Lifetime peak RSS per contender at the end of the run, bytes. */
  readonly lifetimePeakRss: Readonly<Record<string, number>>;
  readonly notMeasured: string | null;
  /** Offered load of the latency scenario, req/s. */
  readonly rate: number;
}

export const TARGETS = {
  vsUndici: 0.9,
  vsFastify: 1.8,
  addedP99Ms: 1,
  peakRssMB: 150,
} as const;

export function verdicts(input: VerdictInputs): Verdict[] {
  const why = input.notMeasured ?? 'no measurement';
  const id = input.turnoutId;
  const out: Verdict[] = [];
  const vsUndici = medianRatio(input.throughput, id, 'undici-proxy');
  out.push({
    target: `Turnout (10% split) ≥ ${TARGETS.vsUndici}× the minimal undici proxy`,
    met: vsUndici === null ? null : vsUndici >= TARGETS.vsUndici,
    value: vsUndici === null ? why : `${vsUndici.toFixed(2)}×`,
  });
  const vsFastify = medianRatio(input.throughput, id, 'fastify-http-proxy');
  out.push({
    target: `Turnout (10% split) ≥ ${TARGETS.vsFastify}× bare @fastify/http-proxy`,
    met: vsFastify === null ? null : vsFastify >= TARGETS.vsFastify,
    value: vsFastify === null ? why : `${vsFastify.toFixed(2)}×`,
  });
  const lat = summariseLatency(input.latency, id);
  const added = lat?.addedP99 ?? null;
  out.push({
    target: `Turnout added p99 ≤ ${TARGETS.addedP99Ms} ms at ${input.rate} req/s`,
    met: added === null ? null : added <= TARGETS.addedP99Ms,
    value: added === null || !lat ? why : `${added.toFixed(3)} ms (p99 ${lat.p99.toFixed(3)} ms at ${Math.round(lat.rps)} req/s, ${lat.tool})`,
  });
  const f = input.flip;
  out.push({
    target: '0 errors across flips and weight changes under load, both colours served',
    met: f === null ? null : f.errors === 0 && f.non2xx === 0 && f.adminFailures === 0 && f.served.blue > 0 && f.served.green > 0,
    value:
      f === null
        ? why
        : `${f.errors} failed, ${f.non2xx} non-2xx of ${f.requests} requests; ${f.actions.length - f.adminFailures}/${f.actions.length} admin changes applied; blue ${f.served.blue}, green ${f.served.green}`,
  });
  const peaks = input.turnoutIds.map((t) => input.lifetimePeakRss[t]).filter((v): v is number => v !== undefined && v > 0);
  const peak = peaks.length ? Math.max(...peaks) : null;
  out.push({
    target: `Turnout peak RSS ≤ ${TARGETS.peakRssMB} MB (under load and large transfers)`,
    met: peak === null ? null : peak / 1024 / 1024 <= TARGETS.peakRssMB,
    value: peak === null ? why : `${(peak / 1024 / 1024).toFixed(0)} MB`,
  });
  const low = input.lowMem;
  const lowPeak = low ? input.lifetimePeakRss[low.id] : undefined;
  if (low && lowPeak !== undefined && lowPeak > 0) {
    const ratio = medianRatio(input.throughput, low.id, 'undici-proxy');
    out.push({
      target: `(same, with node ${low.flags}) Turnout peak RSS ≤ ${TARGETS.peakRssMB} MB`,
      met: lowPeak / 1024 / 1024 <= TARGETS.peakRssMB,
      value: `${(lowPeak / 1024 / 1024).toFixed(0)} MB${ratio === null ? '' : `, at ${ratio.toFixed(2)}× the undici proxy's throughput`}`,
    });
  }
  return out;
}
