// The Prometheus registry behind GET /metrics: its own prom-client Registry (never the global
// one), process metrics, and Turnout's metrics. Nothing here runs per request: every metric
// reads Telemetry's cumulative totals, the pools and the routing snapshot in its `collect()`
// callback at scrape time. Every name starts with `turnout_`. Targets are labelled by their URL:
// it comes from the operator's own config, and targets are fixed for the process lifetime, so
// the label set is small and bounded.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { COLOURS, ERROR_KINDS, systemClock, type Clock, type Colour } from '../domain.ts';
import type { RoutingSnapshot } from '../state/model.ts';
import type { ColourPool } from '../upstream/pool.ts';
import type { Target } from '../upstream/target.ts';
import type { TargetProbeStats } from '../upstream/health-check.ts';
import { isAvailable, type Telemetry } from './telemetry.ts';
import { LATENCY_BUCKETS_SECONDS, STATUS_CLASSES } from './totals.ts';

export interface MetricsRegistryOptions {
  readonly telemetry: Telemetry;
  readonly pools: Readonly<Record<Colour, ColourPool>>;
  readonly getSnapshot: () => RoutingSnapshot;
  /** The active health checker (its probe and transition counters); optional. */
  readonly health?: { stats(): readonly TargetProbeStats[] };
  /** The rollout controller's webhook delivery counters; optional. */
  readonly rollouts?: { webhookStats(): { delivered: number; failures: number; failedAttempts: number; dropped: number } };
  /** The per-client concurrency cap (proxy/client-limiter.ts); optional. */
  readonly clientLimiter?: { readonly rejected: number; readonly clients: number };
  readonly clock?: Clock;
  /** CONTRACT §9: the shadow comparison's counters (turnout_shadow_*); optional. */
  readonly shadow?: { readonly results: Readonly<Record<string, number>>; readonly dropped: number };
  /** Process metrics (CPU, memory, event loop, GC) with the turnout_ prefix; default true. */
  readonly processMetrics?: boolean;
  /**
   * CONTRACT §10: every service's own parts, each series labelled `service` (the set is bounded by
   * the config). Absent: the one service of telemetry/pools/getSnapshot/health/shadow above,
   * without the label (the series of a §2 config, as before services).
   */
  readonly services?: readonly ServiceMetrics[];
}

/** One service's parts the per-service series read. */
export interface ServiceMetrics {
  readonly name: string;
  readonly telemetry: Telemetry;
  readonly pools: Readonly<Record<Colour, ColourPool>>;
  readonly getSnapshot: () => RoutingSnapshot;
  readonly health?: { stats(): readonly TargetProbeStats[] };
  readonly shadow?: { readonly results: Readonly<Record<string, number>>; readonly dropped: number };
}

/** A service and the label set its series start with (empty without the `service` label). */
interface Labelled extends ServiceMetrics {
  readonly labels: Readonly<Record<string, string>>;
}

/** The label used for requests that reached no target (the proxy's own 503). */
export const NO_TARGET = 'none';

export function createMetricsRegistry(options: MetricsRegistryOptions): Registry {
  const clock = options.clock ?? systemClock;
  const labelled: readonly Labelled[] = options.services
    ? options.services.map((s) => ({ ...s, labels: { service: s.name } }))
    : [{ name: 'default', telemetry: options.telemetry, pools: options.pools, getSnapshot: options.getSnapshot, ...(options.health ? { health: options.health } : {}), ...(options.shadow ? { shadow: options.shadow } : {}), labels: {} }];
  /** Label names of a per-service series: `service` first when services label their series. */
  const L = <T extends string>(...names: T[]): T[] => (options.services ? (['service', ...names] as T[]) : names);
  const register = new Registry();
  const registers = [register];
  if (options.processMetrics !== false) {
    collectDefaultMetrics({ register, prefix: 'turnout_' });
    // prom-client names these gauges `…_total`, which `promtool check metrics` rejects (only
    // counters end in _total); the same numbers remain by type in turnout_nodejs_active_*{type}.
    for (const what of ['handles', 'requests', 'resources']) register.removeSingleMetric(`turnout_nodejs_active_${what}_total`);
  }

  const targetLabel = (pools: Readonly<Record<Colour, ColourPool>>, colour: Colour, row: number) => pools[colour].targets[row]?.url ?? NO_TARGET;

  /** A gauge with one series per target, its value read at scrape time. */
  const targetGauge = (name: string, help: string, value: (target: Target, now: number) => number) =>
    new Gauge({
      name,
      help,
      labelNames: L('colour', 'target'),
      registers,
      collect() {
        const now = clock.now();
        for (const { pools, labels } of labelled) {
          for (const colour of COLOURS) {
            for (const target of pools[colour].targets) this.set({ ...labels, colour, target: target.url }, value(target, now));
          }
        }
      },
    });

  new Counter({
    name: 'turnout_requests_total',
    help: 'Client responses by colour, the target that gave the answer (none: no target) and status class (none: the client hung up before an answer). A retried request counts once.',
    labelNames: L('colour', 'target', 'status_class'),
    registers,
    collect() {
      this.reset();
      for (const { telemetry, pools, labels } of labelled) {
        for (const colour of COLOURS) {
          const totals = telemetry.totals(colour);
          for (let row = 0; row <= totals.targets; row++) {
            for (let c = 0; c < STATUS_CLASSES.length; c++) {
              const value = totals.requests[row * STATUS_CLASSES.length + c]!;
              // Series for real targets always exist (rate() needs the zero); `none` only once used.
              if (value > 0 || (row < totals.targets && c === 2)) {
                this.inc({ ...labels, colour, target: targetLabel(pools, colour, row), status_class: STATUS_CLASSES[c]! }, value);
              }
            }
          }
        }
      }
    },
  });

  /** A counter by colour, target and error kind, read from one of ColourTotals' kind arrays. */
  const kindCounter = (name: string, help: string, read: (totals: ReturnType<Telemetry['totals']>) => Float64Array, zeroKinds: readonly string[]) =>
    new Counter({
      name,
      help,
      labelNames: L('colour', 'target', 'kind'),
      registers,
      collect() {
        this.reset();
        for (const { telemetry, pools, labels } of labelled) {
          for (const colour of COLOURS) {
            const totals = telemetry.totals(colour);
            const values = read(totals);
            for (let row = 0; row <= totals.targets; row++) {
              for (let k = 0; k < ERROR_KINDS.length; k++) {
                const value = values[row * ERROR_KINDS.length + k]!;
                const kind = ERROR_KINDS[k]!;
                // Zero series for every real target and kind it can have, so error ratios are never "no data".
                if (value > 0 || (row < totals.targets && zeroKinds.includes(kind))) {
                  this.inc({ ...labels, colour, target: targetLabel(pools, colour, row), kind }, value);
                }
              }
            }
          }
        }
      },
    });

  kindCounter(
    'turnout_upstream_errors_total',
    'Client responses that were upstream errors (CONTRACT §5), by colour, the target that gave the answer, and kind: status5xx, refused, reset, timeout, no_healthy_target, saturated. A failed attempt retried elsewhere is in turnout_upstream_retries_total instead.',
    (totals) => totals.errors,
    ERROR_KINDS.filter((kind) => kind !== 'no_healthy_target'),
  );

  kindCounter(
    'turnout_upstream_retries_total',
    'Failed attempts retried on another target of the colour, by colour, the target that failed, and kind. Attempts of a target = turnout_requests_total + this.',
    (totals) => totals.retries,
    ['refused', 'reset'], // the kinds the data plane retries (proxy/failure.ts isRetryable)
  );

  register.registerMetric(new AggregatedLatencyHistogram(labelled) as Histogram<string>);

  // A target belongs to one service's pools: find its telemetry and gate through them.
  const owner = new Map<Target, Labelled>();
  for (const s of labelled) for (const colour of COLOURS) for (const target of s.pools[colour].targets) owner.set(target, s);
  targetGauge('turnout_in_flight_requests', 'Requests sent to a target and not finished yet.', (target) => owner.get(target)!.telemetry.inFlightOf(target));

  // Pool saturation (upstream/connection-gate.ts): what a slow-client attack fills first.
  const gateOf = (target: Target) => owner.get(target)!.pools[target.colour].gates[target.index]!;
  targetGauge('turnout_upstream_connections_busy', 'Connections to a target carrying a request now.', (target) => gateOf(target).busy);
  targetGauge('turnout_upstream_connections_max', 'Connections allowed per target (proxy.connectionsPerTarget).', (target) => gateOf(target).max);
  targetGauge('turnout_upstream_queued_requests', 'Requests waiting for a free connection to a target.', (target) => gateOf(target).queued);
  new Counter({
    name: 'turnout_upstream_queue_rejections_total',
    help: 'Requests answered 503 because every connection to the target was busy: overflow (queue full) or timeout (waited timeouts.queueMs).',
    labelNames: L('colour', 'target', 'reason'),
    registers,
    collect() {
      this.reset();
      for (const { pools, labels } of labelled) {
        for (const colour of COLOURS) {
          for (const target of pools[colour].targets) {
            const stats = gateOf(target).stats();
            this.inc({ ...labels, colour, target: target.url, reason: 'overflow' }, stats.overflows);
            this.inc({ ...labels, colour, target: target.url, reason: 'timeout' }, stats.timeouts);
          }
        }
      }
    },
  });
  const limiter = options.clientLimiter;
  if (limiter !== undefined) {
    new Counter({
      name: 'turnout_client_limit_rejections_total',
      help: 'Requests answered 429 because their client had proxy.maxConcurrentPerClient requests in flight.',
      registers,
      collect() {
        this.reset();
        this.inc(limiter.rejected);
      },
    });
    new Gauge({
      name: 'turnout_clients_in_flight',
      help: 'Distinct clients with a request in flight (tracked by the per-client cap).',
      registers,
      collect() {
        this.set(limiter.clients);
      },
    });
  }

  new Gauge({
    name: 'turnout_canary_weight_percent',
    help: 'Percent of traffic routed to the canary (the idle colour), 0..100.',
    labelNames: L(),
    registers,
    collect() {
      for (const { getSnapshot, labels } of labelled) this.set(labels, getSnapshot().weight);
    },
  });

  new Gauge({
    name: 'turnout_active_colour',
    help: '1 for the colour serving production, 0 for the other.',
    labelNames: L('colour'),
    registers,
    collect() {
      for (const { getSnapshot, labels } of labelled) {
        const active = getSnapshot().active;
        for (const colour of COLOURS) this.set({ ...labels, colour }, colour === active ? 1 : 0);
      }
    },
  });

  new Gauge({
    name: 'turnout_state_version',
    help: 'Version of the routing state; it increments on every change.',
    labelNames: L(),
    registers,
    collect() {
      for (const { getSnapshot, labels } of labelled) this.set(labels, getSnapshot().version);
    },
  });

  new Gauge({
    name: 'turnout_colour_healthy',
    help: '1 when the colour has at least one target that receives traffic.',
    labelNames: L('colour'),
    registers,
    collect() {
      const now = clock.now();
      for (const { pools, labels } of labelled) {
        for (const colour of COLOURS) this.set({ ...labels, colour }, pools[colour].targets.some((t) => isAvailable(t, now)) ? 1 : 0);
      }
    },
  });

  targetGauge('turnout_target_healthy', '1 when the target receives traffic: its health check passes and it is not ejected.', (target, now) => (isAvailable(target, now) ? 1 : 0));

  targetGauge('turnout_target_ejected', '1 while the target is ejected by passive outlier detection (consecutive failed requests).', (target, now) => (target.ejectedUntil > now ? 1 : 0));

  if (labelled.some((s) => s.health !== undefined)) {
    /** A counter with one series per target and value of `label`, read from the checker's stats. */
    const probeCounter = (name: string, help: string, label: string, values: Record<string, (s: TargetProbeStats) => number>) =>
      new Counter({
        name,
        help,
        labelNames: L('colour', 'target', label),
        registers,
        collect() {
          this.reset();
          for (const { health, labels } of labelled) {
            for (const s of health?.stats() ?? []) {
              for (const [v, get] of Object.entries(values)) this.inc({ ...labels, colour: s.target.colour, target: s.target.url, [label]: v }, get(s));
            }
          }
        },
      });
    probeCounter('turnout_health_checks_total', 'Active health probes by colour, target and result.', 'result', {
      success: (s) => s.successes,
      failure: (s) => s.failures,
    });
    probeCounter('turnout_health_check_transitions_total', "Changes of a target's health-check verdict, by the state it changed to.", 'to', {
      healthy: (s) => s.becameHealthy,
      unhealthy: (s) => s.becameUnhealthy,
    });
    targetGauge('turnout_target_probe_healthy', "1 while the target's active health check verdict is healthy.", (target) => (target.probeHealthy ? 1 : 0));
  }

  const rollouts = options.rollouts;
  if (rollouts !== undefined) {
    new Counter({
      name: 'turnout_webhook_deliveries_total',
      help: 'Webhook deliveries by result: delivered, failed (gave up after retries), dropped (queue full).',
      labelNames: ['result'] as const,
      registers,
      collect() {
        this.reset();
        const w = rollouts.webhookStats();
        this.inc({ result: 'delivered' }, w.delivered);
        this.inc({ result: 'failed' }, w.failures - w.dropped); // failures include drops
        this.inc({ result: 'dropped' }, w.dropped);
      },
    });
    new Counter({
      name: 'turnout_webhook_failures_total',
      help: 'Failed webhook delivery attempts (each retry counts).',
      registers,
      collect() {
        this.reset();
        this.inc(rollouts.webhookStats().failedAttempts);
      },
    });
  }

  if (labelled.some((s) => s.shadow !== undefined)) {
    new Counter({
      name: 'turnout_shadow_requests_total',
      help: 'Mirrored requests by result: match, mismatch (the idle colour answered differently), error (the shadow failed or timed out), aborted (the live answer did not complete).',
      labelNames: L('result'),
      registers,
      collect() {
        this.reset();
        for (const { shadow, labels } of labelled) {
          for (const [result, value] of Object.entries(shadow?.results ?? {})) this.inc({ ...labels, result }, value);
        }
      },
    });
    new Counter({
      name: 'turnout_shadow_dropped_total',
      help: 'Mirrored requests dropped because shadow.memoryBytes was used up (the idle colour is slow or answers large bodies).',
      labelNames: L(),
      registers,
      collect() {
        this.reset();
        for (const { shadow, labels } of labelled) if (shadow !== undefined) this.inc(labels, shadow.dropped);
      },
    });
  }
  return register;
}

type Sample = { labels: Record<string, string | number>; value: number; metricName: string };

/**
 * `turnout_request_duration_seconds{colour}`: a Prometheus histogram whose buckets are
 * Telemetry's cumulative counts, produced at scrape time. prom-client's Histogram can only be
 * fed by observe() per request, so this subclass replaces how it reports its values.
 */
const LATENCY_NAME = 'turnout_request_duration_seconds';
const LATENCY_HELP = 'What clients waited, by colour: from sending the first attempt to a target until the response finished (or failed), retries included.';

class AggregatedLatencyHistogram extends Histogram<'colour'> {
  private readonly services: readonly Labelled[];

  constructor(services: readonly Labelled[]) {
    super({
      name: LATENCY_NAME,
      help: LATENCY_HELP,
      labelNames: ['colour'],
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers: [],
    });
    this.services = services;
  }

  private samples(): Sample[] {
    const name = LATENCY_NAME;
    const values: Sample[] = [];
    for (const { telemetry, labels } of this.services) {
      for (const colour of COLOURS) {
        const totals = telemetry.totals(colour);
        let cumulative = 0;
        LATENCY_BUCKETS_SECONDS.forEach((le, i) => {
          cumulative += totals.latencyBuckets[i]!;
          values.push({ labels: { le, ...labels, colour }, value: cumulative, metricName: `${name}_bucket` });
        });
        cumulative += totals.latencyBuckets[LATENCY_BUCKETS_SECONDS.length]!;
        values.push({ labels: { le: '+Inf', ...labels, colour }, value: cumulative, metricName: `${name}_bucket` });
        values.push({ labels: { ...labels, colour }, value: totals.latencySumSeconds, metricName: `${name}_sum` });
        values.push({ labels: { ...labels, colour }, value: totals.latencyCount, metricName: `${name}_count` });
      }
    }
    return values;
  }

  // The registry prefers getForPromString() when a metric has one (prom-client 15 Histogram does).
  async getForPromString() {
    return { name: LATENCY_NAME, help: LATENCY_HELP, type: 'histogram' as const, values: this.samples(), aggregator: 'sum' as const };
  }

  // getMetricsAsJSON() uses get(); prom-client's typings know only `colour` labels and a numeric
  // MetricType enum, while the runtime values are `le` labels and the string 'histogram'.
  override async get(): ReturnType<Histogram<'colour'>['get']> {
    return { ...(await this.getForPromString()), collect: () => {} } as unknown as Awaited<ReturnType<Histogram<'colour'>['get']>>;
  }
}
