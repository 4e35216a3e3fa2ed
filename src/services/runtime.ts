// CONTRACT §10: everything one service owns in the control plane, built from its ServiceConfig:
// its state (own store key or file, own version counter), its colour pools, telemetry windows,
// health checker, shadow comparison, rollout and verification controllers. Two services share
// nothing here, so a change, a rollout or a failing probe of one never touches another. What is
// per process (listeners, the per-client limiter, the body budget, the access log, webhooks, the
// admin server) stays in app.ts.
//
// Part of the composition root (it sees every layer, as app.ts does): app.ts builds one
// ServiceRuntime per service, in config order, and wires them to the channels and listeners.
import type { Logger } from 'pino';
import path from 'node:path';
import type { Clock, Colour, RandomSource } from '../domain.ts';
import type { TurnoutConfig } from '../config/types.ts';
import { DEFAULT_SERVICE_NAME, type ServiceConfig } from '../config/services.ts';
import { StateManager } from '../state/manager.ts';
import type { StateStore } from '../state/store.ts';
import { MemoryStore } from '../state/memory-store.ts';
import { FileStore } from '../state/file-store.ts';
import type { ColourPool } from '../upstream/pool.ts';
import { HealthChecker } from '../upstream/health-check.ts';
import { Telemetry } from '../metrics/telemetry.ts';
import type { Recorder } from '../metrics/recorder.ts';
import { RolloutController } from '../rollout/controller.ts';
import { VerificationController } from '../rollout/verification.ts';
import { Shadower } from '../shadow/mirror.ts';
import { ReplayClock } from '../channels/merge.ts';
import type { Fleet } from '../fleet/fleet.ts';
import type { FleetTelemetry } from '../fleet/telemetry.ts';
import { makeServicePools } from '../compose.ts';

export interface ServiceRuntime {
  readonly name: string;
  readonly config: ServiceConfig;
  readonly state: StateManager;
  readonly pools: Readonly<Record<Colour, ColourPool>>;
  /** This process's windows and totals (/metrics). */
  readonly telemetry: Telemetry;
  /** In a fleet, the fleet-wide windows the admin API and the analysis read; else null. */
  readonly fleetTelemetry: FleetTelemetry | null;
  readonly health: HealthChecker;
  readonly rollouts: RolloutController;
  readonly verification: VerificationController;
  readonly shadow: Shadower;
  /** What this service's data plane records into (the fleet's deltas too, in a fleet). */
  readonly recorder: Recorder;
  /** With state.store: redis, this service's membership of the fleet (its own keys); else null. */
  readonly fleet: Fleet | null;
  /** Workers > 1: the clock the telemetry replays deltas with (channels/merge.ts); else null. */
  readonly replayClock: ReplayClock | null;
  /** The active colour has a target that receives traffic. */
  ready(): boolean;
}

export interface ServiceRuntimeOptions {
  readonly config: TurnoutConfig;
  readonly service: ServiceConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random?: RandomSource;
  /** A store to use instead of the config's (tests); see storeFor. */
  readonly store?: StateStore;
  /** Opened by app.ts for state.store: redis (the fleet modules are loaded only then). */
  readonly fleet: Fleet | null;
  readonly makeFleetTelemetry?: (local: Telemetry, pools: Readonly<Record<Colour, ColourPool>>) => FleetTelemetry;
  /** Probe before trusting a target (issue 12): true when health checks run. */
  readonly awaitFirstProbe: boolean;
  /** Workers > 1: Telemetry is fed by the merger's replays, stamped with each delta's second. */
  readonly replay: boolean;
  /** Stamp `service` into every event (a `services:` config; §2 configs keep today's events). */
  readonly stampService: boolean;
}

/**
 * A service's file store: the `default` service keeps `state.path` itself (so a §2 config, and a
 * `services:` config that names its first service `default`, keep their state file); any other
 * service `state.json` → `state.<name>.json` beside it (and `state.<name>.audit.jsonl`).
 */
export function statePathOf(statePath: string, service: string): string {
  if (service === DEFAULT_SERVICE_NAME) return statePath;
  const ext = path.extname(statePath);
  const base = ext === '' ? statePath : statePath.slice(0, -ext.length);
  return `${base}.${service}${ext === '' ? '.json' : ext}`;
}

function openStore(config: TurnoutConfig, service: string): StateStore {
  switch (config.state.store) {
    case 'file':
      return new FileStore(statePathOf(config.state.path, service));
    case 'memory':
      return new MemoryStore();
    default:
      // redis is opened by Fleet.open in buildApp.
      throw new Error(`state.store: ${config.state.store} is not supported`);
  }
}

export async function openServiceRuntime(options: ServiceRuntimeOptions): Promise<ServiceRuntime> {
  const { config, service, clock, fleet } = options;
  const name = service.name;
  const logger = options.stampService ? options.logger.child({ service: name }) : options.logger;
  const state = await StateManager.open({
    store: options.store ?? fleet?.store ?? openStore(config, name),
    seed: { active: service.routing.active, weight: service.routing.canaryWeight, shadowPercent: service.shadow.percent },
    clock,
    ...(options.stampService ? { service: name } : {}),
  });

  const onHealthChange = (target: { colour: Colour; url: string }, available: boolean, why: string) =>
    // A target coming back is good news (info); one going away is what an operator looks for (warn).
    logger[available ? 'info' : 'warn']({ colour: target.colour, target: target.url, available }, `target ${available ? 'available' : 'unavailable'}: ${why}`);
  const pools = makeServicePools(config, service.upstreams, clock, onHealthChange, options.awaitFirstProbe);
  const replayClock = options.replay ? new ReplayClock(clock) : null;
  const telemetry = new Telemetry({ pools, windowSeconds: config.metrics.windowSeconds, clock: replayClock ?? clock });
  const fleetTelemetry = options.makeFleetTelemetry?.(telemetry, pools) ?? null;
  const windows = fleetTelemetry ?? telemetry;
  const health = new HealthChecker({ pools, config: config.healthCheck, clock, logger });
  const leader = fleet ? { leader: { get held() { return fleet.lease.held; }, id: fleet.id } } : {};
  const verification = new VerificationController({ state, windows, clock, logger, defaults: service.routing.verify ?? null, ...leader });
  const shadow = new Shadower({
    config: service.shadow,
    targets: { blue: service.upstreams.blue.targets, green: service.upstreams.green.targets },
    now: () => clock.now(),
    ...(options.random ? { random: options.random } : {}),
  });
  const rollouts = new RolloutController({
    state,
    shadow: () => ({ compared: shadow.stats.compared, mismatches: shadow.stats.results.mismatch }),
    windows,
    clock,
    logger,
    decoratePromotion: (before, promotion) => verification.decoratePromotion(before, promotion),
    ...leader,
  });
  return {
    name,
    config: service,
    state,
    pools,
    telemetry,
    fleetTelemetry,
    health,
    rollouts,
    verification,
    shadow,
    recorder: fleetTelemetry?.recorder ?? telemetry,
    fleet,
    replayClock,
    ready: () => pools[state.snapshot.active].hasAvailable(),
  };
}
