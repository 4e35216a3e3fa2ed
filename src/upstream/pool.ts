// The targets of one colour: round robin over the available ones, passive outlier ejection,
// and the undici dispatcher of each target. The data plane calls pick() and reportOutcome();
// the active health checker calls setProbeHealth().
import { Pool } from 'undici';
import type { Colour, Clock, Outcome } from '../domain.ts';
import { ConnectionGate, type GateTimers } from './connection-gate.ts';
import { Target, refreshAvailability, type HealthChange, type OutlierPolicy } from './target.ts';
import { continueTolerantConnector } from './interim-continue.ts';

export interface DispatcherOptions {
  readonly connectMs: number;
  /** Bounds the target's silence before the response headers and between body chunks. */
  readonly responseMs: number;
  /** Keep-alive connections per target. */
  readonly connections: number;
  /** A request finding every connection busy waits this long at most (connection-gate.ts); default 5000. */
  readonly queueMs?: number;
  /** …and this many may wait per target; default 1024. */
  readonly maxQueued?: number;
  readonly gateTimers?: GateTimers;
}

export class ColourPool {
  readonly colour: Colour;
  readonly targets: readonly Target[];
  readonly dispatchers: readonly Pool[];
  /** Per target, in front of its dispatcher: busy connections and a bounded queue. */
  readonly gates: readonly ConnectionGate[];
  private next = 0;
  private readonly clock: Clock;
  private readonly outlier: OutlierPolicy;
  /** ⌊N × maxEjectionPercent / 100⌋: 0 for a single target, which is therefore never ejected. */
  readonly maxEjected: number;
  private readonly onChange: HealthChange;

  constructor(
    colour: Colour,
    urls: readonly string[],
    options: {
      clock: Clock;
      outlier: OutlierPolicy;
      dispatcher: DispatcherOptions;
      onHealthChange?: HealthChange;
      /**
       * Targets receive no traffic until a health probe passed (Envoy's
       * ignore_new_hosts_until_first_hc): health is not persisted, so after a restart a target that
       * is still dead must not be trusted. Only with a health checker running; default false.
       */
      awaitFirstProbe?: boolean;
    },
  ) {
    this.colour = colour;
    this.clock = options.clock;
    this.outlier = options.outlier;
    this.onChange = options.onHealthChange ?? (() => {});
    this.targets = Object.freeze(urls.map((url, index) => new Target(colour, url, index, options.awaitFirstProbe ?? false)));
    this.maxEjected = Math.floor((urls.length * (options.outlier.maxEjectionPercent ?? 50)) / 100);
    const d = options.dispatcher;
    this.dispatchers = Object.freeze(
      urls.map(
        (url) =>
          new Pool(new URL(url).origin, {
            connections: d.connections,
            // undici's connector with connectTimeout's meaning, made to skip an upstream's
            // interim 100 Continue, which undici would fail on (interim-continue.ts).
            connect: continueTolerantConnector({ timeout: d.connectMs }),
            // One bound for the target's silence, before the headers and between body chunks, like
            // NGINX's proxy_read_timeout (undici does not time a body paused by a slow client).
            // Equal values also let undici refresh one timer per request instead of creating a
            // second that lingers in its timer list until the next tick and outlives scavenges.
            headersTimeout: d.responseMs,
            bodyTimeout: d.responseMs,
            keepAliveTimeout: 4_000,
            pipelining: 1,
          }),
      ),
    );
    const gate = { max: d.connections, queueMs: d.queueMs ?? 5000, maxQueued: d.maxQueued ?? 1024, ...(d.gateTimers ? { timers: d.gateTimers } : {}) };
    this.gates = Object.freeze(this.dispatchers.map((pool) => new ConnectionGate(pool, gate)));
  }

  /**
   * The next available target, round robin, skipping `exclude` (a target that just failed, when
   * retrying). Undefined when none is available: the caller answers 503.
   */
  pick(exclude?: Target): Target | undefined {
    const targets = this.targets;
    const n = targets.length;
    for (let i = 0; i < n; i++) {
      const target = targets[(this.next + i) % n]!;
      if (target === exclude) continue;
      if (this.isPickable(target)) {
        // A retry does not move the rotation: the failed target's turn was already taken.
        if (exclude === undefined) this.next = (target.index + 1) % n;
        return target;
      }
    }
    return undefined;
  }

  /** True when at least one target would be picked now. */
  hasAvailable(): boolean {
    return this.targets.some((target) => this.isPickable(target));
  }

  /** Where the data plane sends a request to `target`: its gate, in front of its undici Pool. */
  dispatcherOf(target: Target): ConnectionGate {
    return this.gates[target.index]!;
  }

  /**
   * Passive health (CONTRACT §3, outlier): connection failures, timeouts and 5xx answers in a
   * row eject the target for `ejectMs`. Any other outcome resets the streak; a client hang-up
   * says nothing about the target and leaves it alone. The ejection is skipped (and the streak
   * kept, so it happens once it is allowed) when mayEject() says no.
   */
  reportOutcome(target: Target, outcome: Outcome): void {
    if (outcome === 'client_abort') return;
    if (outcome === 'ok') {
      target.consecutiveFailures = 0;
      return;
    }
    if (outcome === 'no_healthy_target' || outcome === 'saturated') return; // not the target's failure
    target.consecutiveFailures++;
    if (this.outlier.consecutiveFailures > 0 && target.consecutiveFailures >= this.outlier.consecutiveFailures && this.mayEject(target)) {
      target.consecutiveFailures = 0;
      target.ejectedUntil = this.clock.now() + this.outlier.ejectMs;
      refreshAvailability(target, this.clock, this.onChange, `ejected after ${this.outlier.consecutiveFailures} consecutive failures (${outcome})`);
    }
  }

  /**
   * Whether ejecting `target` keeps the colour serving: at most `maxEjected` targets out at once
   * (Envoy's outlier_detection.max_ejection_percent), and never the last target still passing
   * its probes (nginx never marks a group's only server down, ngx_http_upstream_round_robin.c).
   * Without this, one target answering 5 % 500s in bursts was ejected and its colour answered
   * 503 to 97 % of requests (issue 12): an error rate the rollout analysis should see instead.
   */
  private mayEject(target: Target): boolean {
    const now = this.clock.now();
    let ejected = 0;
    let othersServing = 0;
    for (const other of this.targets) {
      if (other === target) continue;
      if (other.ejectedUntil > now) ejected++;
      else if (other.probeHealthy) othersServing++;
    }
    return ejected < this.maxEjected && othersServing > 0;
  }

  /** Active health: the checker's verdict after its thresholds were crossed. */
  setProbeHealth(target: Target, healthy: boolean, why: string): void {
    if (target.probeHealthy === healthy) return;
    target.probeHealthy = healthy;
    refreshAvailability(target, this.clock, this.onChange, why);
  }

  /** `available`, after ending an ejection whose time is up (checked lazily, no timer). */
  private isPickable(target: Target): boolean {
    if (!target.available && target.probeHealthy && target.ejectedUntil !== 0 && target.ejectedUntil <= this.clock.now()) {
      target.ejectedUntil = 0;
      refreshAvailability(target, this.clock, this.onChange, 'ejection expired');
    }
    return target.available;
  }

  async close(): Promise<void> {
    await Promise.all(this.dispatchers.map((d) => d.close().catch(() => d.destroy())));
  }
}
