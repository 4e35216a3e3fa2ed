// Active health checks (CONTRACT §3): every target is probed with GET `healthCheck.path`; a 2xx
// or 3xx answer within `timeoutMs` is a success. A target becomes unhealthy after
// `unhealthyAfter` failures in a row and healthy again after `healthyAfter` successes in a row.
// The verdict reaches the balancer through the pool's one narrow setter, and only on a real
// change (traefik pkg/healthcheck); each change is logged and counted for Prometheus.
//
// A target's very first probe decides at once: a pass makes it healthy without waiting for
// `healthyAfter` passes, as Envoy's first_check_ does (health_checker_impl.cc), so a pool that
// awaits the first probe (ColourPool awaitFirstProbe) starts routing after one round. A first
// failure leaves it out until `healthyAfter` passes in a row.
//
// While a target's state is in question (a healthy target that just failed, an unhealthy one
// that just answered) the next round comes after a short "edge" interval instead of the full
// one, as Envoy's unhealthy_edge_interval / healthy_edge_interval do: with the defaults (2 s,
// 2 failures) a dead target is confirmed about 0.5 s after its first failed probe, not 2 s.
import { Agent, request, type Dispatcher } from 'undici';
import { COLOURS, systemClock, type Clock, type Colour } from '../domain.ts';
import type { HealthCheckConfig } from '../config/types.ts';
import type { ColourPool } from './pool.ts';
import type { Target } from './target.ts';

/** A pino-compatible logger, narrowed to what the checker uses. */
export interface HealthLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Probe counters of one target (read by the Prometheus collectors and tests). */
export interface TargetProbeStats {
  readonly target: Target;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  /** Probes since start, by result. */
  successes: number;
  failures: number;
  /** Transitions of the probe verdict since start. */
  becameHealthy: number;
  becameUnhealthy: number;
  /** `HTTP 200`, `HTTP 500`, `ECONNREFUSED`, `timeout`, …; empty before the first probe. */
  lastResult: string;
  /** Clock time of the last finished probe; 0 before the first. */
  lastProbeAt: number;
}

export interface HealthCheckerOptions {
  readonly pools: Readonly<Record<Colour, ColourPool>>;
  readonly config: HealthCheckConfig;
  readonly clock?: Clock;
  readonly logger?: HealthLogger;
  /** Delay of the next round while some target's state is in question (default min(interval, max(100, interval / 4))). */
  readonly edgeIntervalMs?: number;
}

interface ProbeResult {
  readonly ok: boolean;
  readonly detail: string;
}

const silent: HealthLogger = { info() {}, warn() {} };

export class HealthChecker {
  readonly config: HealthCheckConfig;
  readonly edgeIntervalMs: number;
  private readonly pools: Readonly<Record<Colour, ColourPool>>;
  private readonly clock: Clock;
  private readonly logger: HealthLogger;
  private readonly entries: readonly TargetProbeStats[];
  private readonly byTarget = new Map<Target, TargetProbeStats>();
  private agent: Agent | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** Bumped by stop(): a round that started before it applies nothing. */
  private generation = 0;
  private firstRoundDone: () => void = () => {};
  /** Settles once the first round of probes was applied (or the checker stopped): app.listen() awaits it. */
  readonly firstRound: Promise<void> = new Promise((resolve) => (this.firstRoundDone = resolve));

  constructor(options: HealthCheckerOptions) {
    this.pools = options.pools;
    this.config = options.config;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silent;
    const interval = options.config.intervalMs;
    this.edgeIntervalMs = options.edgeIntervalMs ?? Math.min(interval, Math.max(100, Math.floor(interval / 4)));
    const entries: TargetProbeStats[] = [];
    for (const colour of COLOURS) {
      for (const target of this.pools[colour].targets) {
        const stats: TargetProbeStats = {
          target,
          consecutiveSuccesses: 0,
          consecutiveFailures: 0,
          successes: 0,
          failures: 0,
          becameHealthy: 0,
          becameUnhealthy: 0,
          lastResult: '',
          lastProbeAt: 0,
        };
        entries.push(stats);
        this.byTarget.set(target, stats);
      }
    }
    this.entries = Object.freeze(entries);
  }

  /** Probes at once, then every `intervalMs` (or the edge interval while a state is in question). */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.loop(this.generation);
  }

  /** Stops probing; a round in progress applies nothing. */
  stop(): void {
    this.running = false;
    this.generation++;
    this.firstRoundDone();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const agent = this.agent;
    this.agent = undefined;
    agent?.destroy().catch(() => {});
  }

  /** Probes every target once, concurrently, and applies the results. Tests drive this directly. */
  async probeOnce(): Promise<void> {
    const generation = this.generation;
    const results = await Promise.all(this.entries.map((entry) => this.probe(entry.target)));
    if (generation !== this.generation) return;
    results.forEach((result, i) => this.apply(this.entries[i]!, result));
    this.firstRoundDone();
  }

  /** Counters of every target, blue first, in pool order. */
  stats(): readonly TargetProbeStats[] {
    return this.entries;
  }

  statsOf(target: Target): TargetProbeStats | undefined {
    return this.byTarget.get(target);
  }

  private async loop(generation: number): Promise<void> {
    this.timer = undefined;
    try {
      await this.probeOnce();
    } catch (err) {
      this.logger.warn({ err }, 'health check round failed');
    }
    if (!this.running || generation !== this.generation) return;
    const delay = this.entries.some(inQuestion) ? this.edgeIntervalMs : this.config.intervalMs;
    this.timer = setTimeout(() => void this.loop(generation), delay);
    this.timer.unref();
  }

  private dispatcher(): Dispatcher {
    // Its own connections: a probe must not queue behind traffic on the target's busy pool.
    this.agent ??= new Agent({ connectTimeout: this.config.timeoutMs, connections: 2 });
    return this.agent;
  }

  private async probe(target: Target): Promise<ProbeResult> {
    const timeoutMs = this.config.timeoutMs;
    try {
      // healthCheck.path starts with "/" (config/schema.ts checks it); targets are origins.
      const res = await request(new URL(target.url).origin + this.config.path, {
        method: 'GET',
        dispatcher: this.dispatcher(),
        headers: { 'user-agent': 'turnout-health-check' },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
        // A fresh connection each time: a listener that is gone must not hide behind a kept-alive socket.
        reset: true,
      });
      await res.body.dump().catch(() => {});
      const ok = res.statusCode >= 200 && res.statusCode < 400;
      return { ok, detail: `HTTP ${res.statusCode}` };
    } catch (err) {
      return { ok: false, detail: describe(err) };
    }
  }

  private apply(stats: TargetProbeStats, result: ProbeResult): void {
    const target = stats.target;
    const pool = this.pools[target.colour];
    const first = stats.successes + stats.failures === 0;
    stats.lastResult = result.detail;
    stats.lastProbeAt = this.clock.now();
    if (result.ok) {
      stats.successes++;
      stats.consecutiveFailures = 0;
      stats.consecutiveSuccesses++;
      if (!target.probeHealthy && (first || stats.consecutiveSuccesses >= this.config.healthyAfter)) {
        const why = first ? `first health check passed (${result.detail})` : `health check passed ${stats.consecutiveSuccesses} times in a row (${result.detail})`;
        stats.becameHealthy++;
        pool.setProbeHealth(target, true, why);
        this.logger.info({ colour: target.colour, target: target.url, healthy: true }, `target healthy: ${why}`);
      }
    } else {
      stats.failures++;
      stats.consecutiveSuccesses = 0;
      stats.consecutiveFailures++;
      if (first && !target.probeHealthy) {
        this.logger.warn({ colour: target.colour, target: target.url, healthy: false }, `target stays out: first health check failed (${result.detail})`);
      }
      if (target.probeHealthy && stats.consecutiveFailures >= this.config.unhealthyAfter) {
        const why = `health check failed ${stats.consecutiveFailures} times in a row (${result.detail})`;
        stats.becameUnhealthy++;
        pool.setProbeHealth(target, false, why);
        this.logger.warn({ colour: target.colour, target: target.url, healthy: false }, `target unhealthy: ${why}`);
      }
    }
  }
}

/** A target whose next probe may flip its state. */
function inQuestion(stats: TargetProbeStats): boolean {
  return stats.target.probeHealthy ? stats.consecutiveFailures > 0 : stats.consecutiveSuccesses > 0;
}

/** A short, stable reason for logs and stats: the error code when there is one. */
function describe(err: unknown): string {
  const e = err as { name?: string; code?: string; cause?: { code?: string } };
  if (e?.name === 'TimeoutError' || e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT' || e?.code === 'UND_ERR_CONNECT_TIMEOUT') {
    return 'timeout';
  }
  return e?.code ?? e?.cause?.code ?? e?.name ?? 'error';
}
