// One upstream target (an origin such as http://10.0.0.1:3000) and its health.
// Health reaches the balancer through two narrow setters, and only real changes flip
// `available` (traefik pkg/healthcheck): the hot path reads one boolean.
import type { Colour, Clock } from '../domain.ts';

export type HealthChange = (target: Target, available: boolean, why: string) => void;

export class Target {
  readonly colour: Colour;
  readonly url: string;
  /** Position among its colour's targets; stable for the process lifetime. */
  readonly index: number;

  /**
   * Active health: false after `unhealthyAfter` failed probes, true after `healthyAfter` good ones.
   * Starts false when the pool awaits the first probe (Envoy's ignore_new_hosts_until_first_hc).
   */
  probeHealthy: boolean;
  /** Passive health: ejected until this time (ms since epoch) after consecutive failures. */
  ejectedUntil = 0;
  consecutiveFailures = 0;
  /** Derived: probeHealthy and not ejected. The balancer reads only this. */
  available: boolean;

  constructor(colour: Colour, url: string, index: number, awaitFirstProbe = false) {
    this.colour = colour;
    this.url = url;
    this.index = index;
    this.probeHealthy = !awaitFirstProbe;
    this.available = !awaitFirstProbe;
  }
}

export interface OutlierPolicy {
  readonly consecutiveFailures: number;
  readonly ejectMs: number;
  /** At most ⌊N × this / 100⌋ of the colour's N targets ejected at once; default 50. */
  readonly maxEjectionPercent?: number;
}

/** Recomputes `available` and reports a change. Call after touching probeHealthy or ejectedUntil. */
export function refreshAvailability(target: Target, clock: Clock, onChange: HealthChange, why: string): void {
  const available = target.probeHealthy && target.ejectedUntil <= clock.now();
  if (available !== target.available) {
    target.available = available;
    onChange(target, available, why);
  }
}
