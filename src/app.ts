// The composition root: builds every part from a validated config, wires them, listens on
// nothing until listen(). The only module that sees everything (DESIGN.md).
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { COLOURS, systemClock, type Clock, type Colour, type RandomSource } from './domain.ts';
import type { TurnoutConfig } from './config/types.ts';
import { StateManager } from './state/manager.ts';
import type { StateStore } from './state/store.ts';
import { MemoryStore } from './state/memory-store.ts';
import { FileStore } from './state/file-store.ts';
import type { ColourPool } from './upstream/pool.ts';
import { HealthChecker } from './upstream/health-check.ts';
import { Telemetry } from './metrics/telemetry.ts';
import { noopRecorder } from './metrics/recorder.ts';
import { createMetricsRegistry } from './metrics/prometheus.ts';
import { registerWorkerMetrics } from './workers/metrics.ts';
import { RolloutController } from './rollout/controller.ts';
import { VerificationController } from './rollout/verification.ts';
import { notifyStateChanges } from './notify/state-webhooks.ts';
import { WebhookNotifier } from './notify/webhooks.ts';
import { buildAdminServer } from './admin/server.ts';
import type { OverrideLinks } from './admin/routes-override-links.ts';
import { signOverride } from './routing/override-token.ts';
import { OVERRIDE_LINK_PATH } from './proxy/override-link.ts';
import { loneReplica } from './admin/routes-fleet.ts';
import os from 'node:os';
// Types only: the fleet (and the Redis client) is loaded when the config asks for it, so a
// file- or memory-store process does not pay for importing it.
import type { Fleet } from './fleet/fleet.ts';
import type { FleetTelemetry } from './fleet/telemetry.ts';
import type { RoutingState } from './state/model.ts';
import { DEFAULT_SERVICE, type SnapshotPublisher, type TargetHealth } from './channels/types.ts';
import { LocalSnapshotChannel } from './channels/local.ts';
import { AppliedSnapshot } from './channels/applied.ts';
import { IpcControlChannel } from './channels/ipc.ts';
import { ReplayClock, ShadowMerger, TelemetryMerger, type MergeTarget } from './channels/merge.ts';
import { makeListeners, makePools } from './compose.ts';
import { Supervisor, defaultListenMode } from './workers/supervisor.ts';
import { drainServers } from './workers/drain.ts';
import { resolveWorkers } from './workers/count.ts';
import type { ListenMode } from './workers/protocol.ts';
import { loadListenerCertificates } from './tls/listeners.ts';
import { createSecureServer, type TlsListener, type ReloadOutcome } from './tls/secure-server.ts';
import type { ListenConfig } from './config/types.ts';
import type { ProxyServer } from './compose.ts';
import type { ClientLimiter } from './proxy/client-limiter.ts';
import { Shadower } from './shadow/mirror.ts';
import { shadowConfigOf } from './shadow/defaults.ts';

export interface AppOptions {
  readonly clock?: Clock;
  readonly random?: RandomSource;
  /** A pino logger, or false for silence (tests). Default: info to stdout (see defaultLogger). */
  readonly logger?: Logger | false;
  /** Where the default logger writes: a file descriptor or a path (default 1, stdout). */
  readonly logDestination?: number | string;
  /** Overrides `config.state` (tests use a MemoryStore they keep). */
  readonly store?: StateStore;
  /** Start active health checks and the rollout timer (default true). */
  readonly background?: boolean;
  /**
   * Record every request in the sliding windows and Prometheus aggregates (default true). Off
   * only to measure what recording costs (`npm run bench:recording`): without it, analysis and
   * /api/v1/upstreams see no traffic.
   */
  readonly record?: boolean;
  /**
   * Give the data plane the shadow hook (default true; CONTRACT §9). Off only to measure what the
   * hook costs at percent 0 against no hook at all (`npm run bench:shadow`).
   */
  readonly shadow?: boolean;
  /** How workers share the listeners (default: reuseport where the platform has it). */
  readonly listenMode?: ListenMode;
  /** Names the config in errors found while building (TLS certificates): the file, for `serve`. */
  readonly configSource?: string;
}

export interface ListeningAddresses {
  readonly proxy: string;
  readonly preview: string | null;
  readonly admin: string;
}

export interface TurnoutApp {
  readonly config: TurnoutConfig;
  readonly logger: Logger;
  readonly state: StateManager;
  readonly pools: Readonly<Record<Colour, ColourPool>>;
  readonly telemetry: Telemetry;
  readonly health: HealthChecker;
  readonly rollouts: RolloutController;
  /** Post-flip verification (CONTRACT §11); started and stopped with the rollout controller. */
  readonly verification: VerificationController;
  readonly admin: FastifyInstance;
  /** CONTRACT §9: mirroring and comparison (idle while the snapshot's shadowPercent is 0). */
  readonly shadow: Shadower;
    /** With state.store: redis, this replica's membership of the fleet (CONTRACT §6); else null. */
  readonly fleet: Fleet | null;
  /** The proxy listener of the single process; null with workers > 1 (the workers listen). */
  readonly proxy: ProxyServer | null;
  readonly preview: ProxyServer | null;
  /** The data-plane workers (CONTRACT §7); null with workers: 1. */
  readonly workers: Supervisor | null;
  /** False once shutdown began: /readyz answers 503. */
  readonly accepting: boolean;
  /**
   * Binds the listeners, then starts the health checks and resolves once their first round is
   * applied (at most healthCheck.timeoutMs later): until then no target receives traffic (503)
   * and /readyz answers 503.
   */
  listen(): Promise<ListeningAddresses>;
  /** SIGHUP: re-reads every TLS listener's certificate files; a bad pair keeps the old (logged). */
  reloadCertificates(): ReloadOutcome[];
  /** Stop accepting, let in-flight requests finish (bounded by shutdown.drainSeconds), persist, close. */
  close(): Promise<void>;
}

function openStore(config: TurnoutConfig): StateStore {
  switch (config.state.store) {
    case 'file':
      return new FileStore(config.state.path);
    case 'memory':
      return new MemoryStore();
    default:
      // redis is opened by Fleet.open in buildApp.
      throw new Error(`state.store: ${config.state.store} is not supported`);
  }
}

/** A worker that has not acked a snapshot by then is reported as lagging (and the change answers). */
const PUBLISH_TIMEOUT_MS = 5000;

function listenModeFromEnv(): ListenMode | undefined {
  const v = process.env.TURNOUT_WORKERS_LISTEN;
  return v === 'shared' || v === 'reuseport' ? v : undefined;
}

function urlOf(scheme: string, host: string, port: number): string {
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * The process's logger: pino, info and up, one JSON line each, through pino's own default
 * destination (sonic-boom, asynchronous: while one write is in flight the next lines queue, so
 * under load an access log line per request does not cost a write(2) each; pino flushes it when
 * the process exits). `dest`: a file descriptor or a path.
 */
export function defaultLogger(dest: number | string = 1): Logger {
  return pino({ name: 'turnout' }, pino.destination({ dest, sync: false }));
}

export async function buildApp(config: TurnoutConfig, options: AppOptions = {}): Promise<TurnoutApp> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger === false ? pino({ level: 'silent' }) : options.logger ?? defaultLogger(options.logDestination);
  const background = options.background ?? true;
  // Before anything else is built: a certificate problem is a config error (CONTRACT §8).
  const certificates = loadListenerCertificates(config, options.configSource ?? 'config');

  // A fleet: the store is Redis, shared with every replica of the same state.url and state.key.
  const fleetModules =
    options.store === undefined && config.state.store === 'redis'
      ? await Promise.all([import('./fleet/fleet.ts'), import('./fleet/telemetry.ts'), import('./fleet/metrics.ts')])
      : null;
  const fleet: Fleet | null =
    fleetModules !== null
      ? await fleetModules[0].Fleet.open({
          url: config.state.url ?? '',
          prefix: config.state.key,
          replica: config.fleet.replica,
          leaseMs: config.fleet.leaseMs,
          heartbeatMs: config.fleet.heartbeatMs,
          convergeTimeoutMs: config.fleet.convergeTimeoutMs,
          clock,
          logger,
        })
      : null;
  const state = await StateManager.open({
    store: options.store ?? fleet?.store ?? openStore(config),
    seed: { active: config.routing.active, weight: config.routing.canaryWeight, shadowPercent: shadowConfigOf(config).percent },
    clock,
  }).catch(async (err: unknown) => {
    await fleet?.close(); // no half-open Redis connections left behind a failed start
    throw err;
  });

  const onHealthChange = (target: { colour: Colour; url: string }, available: boolean, why: string) =>
    // A target coming back is good news (info); one going away is what an operator looks for (warn).
    logger[available ? 'info' : 'warn']({ colour: target.colour, target: target.url, available }, `target ${available ? 'available' : 'unavailable'}: ${why}`);
  const pools = makePools(config, clock, onHealthChange, background);
  const workerCount = resolveWorkers(config.workers);

  // With workers, Telemetry is fed by the merger's replays, stamped with each delta's second.
  const telemetryClock = workerCount > 1 ? new ReplayClock(clock) : clock;
  const telemetry = new Telemetry({ pools, windowSeconds: config.metrics.windowSeconds, clock: telemetryClock });
  // A fleet: the data plane also counts into per-second deltas for the other replicas, and the
  // admin API and the rollout analysis read the sum over the fleet; /metrics stays per process.
  const fleetTelemetry: FleetTelemetry | null = fleet && fleetModules
    ? new fleetModules[1].FleetTelemetry({ id: fleet.id, local: telemetry, pools, windowSeconds: config.metrics.windowSeconds, connection: fleet.connection, subscriber: fleet.subscriber, keys: fleet.keys, clock })
    : null;
  const health = new HealthChecker({ pools, config: config.healthCheck, clock, logger });
  const verification = new VerificationController({
    state,
    windows: fleetTelemetry ?? telemetry,
    clock,
    logger,
    defaults: config.routing.verify ?? null,
    ...(fleet ? { leader: { get held() { return fleet.lease.held; }, id: fleet.id } } : {}),
  });
  const shadow = new Shadower({
    config: shadowConfigOf(config),
    targets: { blue: config.upstreams.blue.targets, green: config.upstreams.green.targets },
    now: () => clock.now(),
    ...(options.random ? { random: options.random } : {}),
  });
  const rollouts = new RolloutController({
    state,
    shadow: () => ({ compared: shadow.stats.compared, mismatches: shadow.stats.results.mismatch }),
    windows: fleetTelemetry ?? telemetry,
    clock,
    logger,
    decoratePromotion: (before, promotion) => verification.decoratePromotion(before, promotion),
    ...(fleet ? { leader: { get held() { return fleet.lease.held; }, id: fleet.id } } : {}),
  });

  // Every committed change, whoever made it, goes to the webhooks (notify/state-webhooks.ts).
  const webhooks = new WebhookNotifier({ urls: config.notify.webhooks, secret: config.notify.secret, logger });
  const unsubscribeWebhooks = notifyStateChanges(state, webhooks, clock);

  // What the data planes record into: this process's Telemetry, and in a fleet also the
  // per-second deltas for the other replicas.
  const recorder = fleetTelemetry?.recorder ?? telemetry;

  // Snapshots down (channels/): every commit and every probe verdict reaches every data plane,
  // and a change answers only once all of them acked it.
  let publisher: SnapshotPublisher;
  let clientLimiter: ClientLimiter | undefined;
  let proxy: ProxyServer | null = null;
  let preview: ProxyServer | null = null;
  const tlsListeners: TlsListener[] = [];
  let workers: Supervisor | null = null;
  if (workerCount === 1) {
    // One process: the in-process transport, and the data plane records straight into Telemetry.
    const local = new LocalSnapshotChannel();
    const applied = new AppliedSnapshot({ initial: state.snapshot });
    local.subscribe(applied.apply);
    publisher = local;
    let tls: TlsListener[];
    ({ proxy, preview, tls, clientLimiter } = makeListeners(config, {
      certificates,
      pools,
      getSnapshot: () => applied.routing!,
      recorder: options.record === false ? noopRecorder : recorder,
      ...(options.shadow === false ? {} : { shadow }),
      clock,
      logger,
      ...(options.random ? { random: options.random } : {}),
    }));
    tlsListeners.push(...tls);
  } else {
    const ipc = new IpcControlChannel();
    const target: MergeTarget = fleetTelemetry
      ? {
          begin: (t) => recorder.begin(t),
          retry: (t, ms, kind) => recorder.retry(t, ms, kind),
          end: (c, t, status, ms, outcome) => recorder.end(c, t, status, ms, outcome),
          releaseInFlight: (t, n) => telemetry.releaseInFlight(t, n),
        }
      : telemetry;
    const merger = new TelemetryMerger({ telemetry: target, pools, clock: telemetryClock as ReplayClock });
    ipc.subscribe((delta) => merger.merge(delta));
    ipc.onGone((id) => merger.forget(id));
    // CONTRACT §9: each worker mirrors and compares what it serves; its reports add up here, in
    // the one Shadower that GET /api/v1/shadow, /metrics and the rollout gate read.
    const shadowMerger = new ShadowMerger(shadow);
    ipc.subscribeShadow((delta) => shadowMerger.merge(delta));
    ipc.onGone((id) => shadowMerger.forget(id));
    publisher = ipc;
    workers = new Supervisor({
      count: workerCount,
      exec: new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url).pathname,
      config,
      // TURNOUT_WORKERS_LISTEN=shared|reuseport: for measuring one against the other (README "Workers").
      mode: options.listenMode ?? listenModeFromEnv() ?? defaultListenMode(),
      channel: ipc,
      logger,
    });
  }
  const healthOf = (): TargetHealth => ({
    blue: pools.blue.targets.map((t) => t.probeHealthy),
    green: pools.green.targets.map((t) => t.probeHealthy),
  });
  // One publish per state version (a fleet's onApplied and the commit's own publish share it).
  let lastPublished: { version: number; done: Promise<void> } | undefined;
  const publishState = (routingState: RoutingState, force = false): Promise<void> => {
    if (!force && lastPublished !== undefined && lastPublished.version === routingState.version) return lastPublished.done;
    const snapshot = state.snapshot;
    const done = publisher
      .publish({ service: DEFAULT_SERVICE, version: snapshot.version, routing: snapshot, health: healthOf() }, PUBLISH_TIMEOUT_MS)
      .then((c) => {
        if (c.lagging.length > 0) logger.warn({ version: snapshot.version, lagging: c.lagging }, `snapshot ${snapshot.version} applied by ${c.applied}/${c.replicas} workers`);
      });
    lastPublished = { version: routingState.version, done };
    return done;
  };
  await publishState(state.state);
  state.publishTo((s) => publishState(s));
  if (workers !== null) {
    // Health has one owner per machine: the control plane's checker. Each verdict goes down the
    // same channel as commits (not awaited: nobody waits for a probe).
    for (const pool of Object.values(pools) as ColourPool[]) {
      const set = pool.setProbeHealth.bind(pool);
      pool.setProbeHealth = (t, healthy, why) => {
        const changed = t.probeHealthy !== healthy;
        set(t, healthy, why);
        if (changed) void publishState(state.state, true);
      };
    }
  }

  let accepting = true;
  const isReady = () => accepting && (workers === null || workers.ready > 0) && pools[state.snapshot.active].hasAvailable();
  const metricsRegistry = createMetricsRegistry({ telemetry, pools, getSnapshot: () => state.snapshot, health, rollouts: { webhookStats: () => webhooks.stats() }, shadow: shadow.stats, ...(clientLimiter ? { clientLimiter } : {}) });
  if (workers !== null) registerWorkerMetrics(metricsRegistry, workers);
  const override = config.routing.override;
  const overrideLinks: OverrideLinks | undefined =
    override.enabled && override.secret.length > 0
      ? {
          cookie: override.cookie,
          header: override.header,
          path: OVERRIDE_LINK_PATH,
          mint(value, ttlSeconds) {
            const expiresAtSeconds = Math.floor(clock.now() / 1000) + ttlSeconds;
            return { token: signOverride(value, expiresAtSeconds, override.secret), expiresAtSeconds };
          },
        }
      : undefined;
  if (fleet && fleetModules) fleetModules[2].registerFleetMetrics(metricsRegistry, fleet);
  const admin = await buildAdminServer({
    allowedHosts: config.admin.allowedHosts,
    adminHost: config.admin.host,
    ...(overrideLinks ? { overrideLinks } : {}),
    token: config.admin.token,
    state,
    isReady,
    sticky: config.routing.sticky,
    rolloutSummary: () => rollouts.summary(),
    telemetry: fleetTelemetry ?? telemetry,
    metricsRegistry,
    rollouts,
    verification,
    shadow,
    logger,
    ...(fleet
      ? { fleet, converge: (version: number) => fleet.converge(version) }
      : { fleet: loneReplica(`${os.hostname()}-${process.pid}`, new Date(clock.now()).toISOString(), () => state.state.version) }),
    ...(config.admin.tls ? { serverFactory: adminServerFactory(config.admin) } : {}),
  });

  function adminServerFactory(listen: ListenConfig) {
    return (handler: (req: http.IncomingMessage, res: http.ServerResponse) => void) => {
      const tls = createSecureServer({ tls: listen.tls!, http2: listen.http2, field: 'admin', certificates: certificates.admin! }, handler as Parameters<typeof createSecureServer>[1]);
      tlsListeners.push(tls);
      return tls.server;
    };
  }

  const listenOn = (server: ProxyServer, host: string, port: number, scheme: string) =>
    new Promise<string>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const a = server.address() as AddressInfo;
        resolve(`${scheme}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
      });
    });

  let closing: Promise<void> | undefined;
  const app: TurnoutApp = {
    config,
    logger,
    state,
    pools,
    telemetry,
    health,
    rollouts,
    verification,
    admin,
    fleet,
    shadow,
    proxy,
    preview,
    workers,
    get accepting() {
      return accepting;
    },
    async listen() {
      const adminListened = await admin.listen({ host: config.admin.host, port: config.admin.port });
      const adminUrl = config.admin.tls ? adminListened.replace(/^http:/, 'https:') : adminListened;
      const scheme = (listen: ListenConfig) => (listen.tls ? 'https' : 'http');
      let proxyUrl: string;
      let previewUrl: string | null = null;
      if (workers !== null) {
        const ports = await workers.start();
        proxyUrl = urlOf(scheme(config.listen), config.listen.host, ports.proxyPort);
        if (config.preview && ports.previewPort !== null) previewUrl = urlOf(scheme(config.preview), config.preview.host, ports.previewPort);
      } else {
        proxyUrl = await listenOn(proxy!, config.listen.host, config.listen.port, scheme(config.listen));
        previewUrl = preview && config.preview ? await listenOn(preview, config.preview.host, config.preview.port, scheme(config.preview)) : null;
      }
      // A fleet acks a state (its own commits and other replicas') once every data plane here routes by it.
      await fleet?.start(state, { lead: background, routedBy: (s) => publishState(s) });
      await fleetTelemetry?.start();
      if (background) {
        health.start();
        await health.firstRound;
        // The controllers that commit on their own; a fleet gates both on the lease (CONTRACT §6).
        rollouts.start();
        verification.start();
      }
      return { proxy: proxyUrl, preview: previewUrl, admin: adminUrl };
    },
    reloadCertificates() {
      // Workers hold their own proxy listeners: each re-reads the files on the same signal.
      workers?.signal('SIGHUP');
      const outcomes = tlsListeners.map((l) => l.reload());
      for (const o of outcomes) (o.ok ? logger.info(o.message) : logger.error(o.message));
      return outcomes;
    },
    close() {
      closing ??= shutdown();
      return closing;
    },
  };

  async function shutdown(): Promise<void> {
    accepting = false;
    rollouts.stop();
    verification.stop();
    unsubscribeWebhooks();
    webhooks.close();
    health.stop();
    if (workers !== null) {
      await workers.drain();
    } else {
      const servers = [proxy, preview].filter((s): s is ProxyServer => s !== null);
      await drainServers(servers, config.shutdown.drainSeconds, () =>
        logger.warn(`drain: still busy after ${config.shutdown.drainSeconds}s, closing remaining connections`),
      );
    }
    await admin.close();
    await Promise.all(COLOURS.map((c) => pools[c].close()));
    await shadow.close();
    await state.close();
    fleetTelemetry?.stop();
    await fleet?.close();
  }

  return app;
}
