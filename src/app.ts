// The composition root: builds every part from a validated config, wires them, listens on
// nothing until listen(). The only module that sees everything (DESIGN.md).
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { COLOURS, systemClock, type Clock, type Colour, type RandomSource } from './domain.ts';
import type { TurnoutConfig } from './config/types.ts';
import type { StateManager } from './state/manager.ts';
import type { StateStore } from './state/store.ts';
import type { ColourPool } from './upstream/pool.ts';
import type { HealthChecker } from './upstream/health-check.ts';
import type { Telemetry } from './metrics/telemetry.ts';
import { noopRecorder } from './metrics/recorder.ts';
import { createMetricsRegistry } from './metrics/prometheus.ts';
import { registerWorkerMetrics } from './workers/metrics.ts';
import type { RolloutController } from './rollout/controller.ts';
import type { VerificationController } from './rollout/verification.ts';
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
import type { SnapshotPublisher, TargetHealth } from './channels/types.ts';
import { LocalSnapshotChannel } from './channels/local.ts';
import { AppliedSnapshot } from './channels/applied.ts';
import { IpcControlChannel } from './channels/ipc.ts';
import { TelemetryMerger, type MergeTarget } from './channels/merge.ts';
import { makeListeners } from './compose.ts';
import { Supervisor, defaultListenMode } from './workers/supervisor.ts';
import { drainServers } from './workers/drain.ts';
import { resolveWorkers } from './workers/count.ts';
import type { ListenMode } from './workers/protocol.ts';
import { loadListenerCertificates } from './tls/listeners.ts';
import { createSecureServer, type TlsListener, type ReloadOutcome } from './tls/secure-server.ts';
import type { ListenConfig } from './config/types.ts';
import type { ProxyServer } from './compose.ts';
import type { ClientLimiter } from './proxy/client-limiter.ts';
import type { Shadower } from './shadow/mirror.ts';
import { servicesOf } from './config/services.ts';
import { openServiceRuntime, type ServiceRuntime } from './services/runtime.ts';

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
  /**
   * CONTRACT §10: every service's runtime by name, in config order (services/runtime.ts). The
   * single-service fields above (state, pools, telemetry, health, rollouts, verification,
   * shadow, fleet) are the first service's: a §2 config's one service `default`.
   */
  readonly services: ReadonlyMap<string, ServiceRuntime>;
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
  const workerCount = resolveWorkers(config.workers);
  // CONTRACT §10: one runtime per service (services/runtime.ts), in config order. A §2 config is
  // the one service `default`, built exactly as before services.
  const serviceConfigs = servicesOf(config);
  const stampService = config.services !== undefined;
  const runtimes: ServiceRuntime[] = [];
  const replicaId = fleetModules === null ? '' : config.fleet.replica || fleetModules[0].defaultReplicaId();
  /** The first service's Fleet owns the Redis connections the others share: it closes last. */
  const closeFleets = async () => {
    await Promise.all(runtimes.slice(1).map((r) => r.fleet?.close()));
    await runtimes[0]?.fleet?.close();
  };
  const closeRuntimes = async () => {
    await Promise.all(runtimes.map((r) => r.state.close().catch(() => {})));
    await closeFleets();
  };
  try {
    for (const service of serviceConfigs) {
      // In a fleet, each service has its own keys under state.key (fleet/keys.ts): `default` keeps
      // exactly the keys of a fleet that predates services.
      const fleet: Fleet | null =
        fleetModules !== null
          ? await fleetModules[0].Fleet.open({
              url: config.state.url ?? '',
              prefix: config.state.key,
              service: service.name,
              // One heartbeat per replica: the first service's Fleet writes it; the others
              // share its two Redis connections and its replica id.
              heartbeat: runtimes.length === 0,
              ...(runtimes[0]?.fleet ? { share: runtimes[0].fleet } : {}),
              // One id for the replica, whichever service: acks and heartbeats must agree.
              replica: replicaId,
              leaseMs: config.fleet.leaseMs,
              heartbeatMs: config.fleet.heartbeatMs,
              convergeTimeoutMs: config.fleet.convergeTimeoutMs,
              clock,
              logger,
            })
          : null;
      try {
        runtimes.push(
          await openServiceRuntime({
            config,
            service,
            clock,
            logger,
            ...(options.random ? { random: options.random } : {}),
            ...(runtimes.length === 0 && options.store ? { store: options.store } : {}),
            fleet,
            ...(fleet && fleetModules
              ? {
                  makeFleetTelemetry: (local: Telemetry, pools: Readonly<Record<Colour, ColourPool>>) =>
                    new fleetModules[1].FleetTelemetry({ id: fleet.id, local, pools, windowSeconds: config.metrics.windowSeconds, connection: fleet.connection, subscriber: fleet.subscriber, keys: fleet.keys, clock }),
                }
              : {}),
            awaitFirstProbe: background,
            replay: workerCount > 1,
            stampService,
          }),
        );
      } catch (err) {
        await fleet?.close();
        throw err;
      }
    }
  } catch (err) {
    await closeRuntimes(); // no half-open stores or Redis connections left behind a failed start
    throw err;
  }
  const first = runtimes[0]!;
  const { state, pools, telemetry, health, verification, shadow, rollouts, fleet, fleetTelemetry } = first;
  const services: ReadonlyMap<string, ServiceRuntime> = new Map(runtimes.map((r) => [r.name, r]));

  // Every committed change, whoever made it, goes to the webhooks (notify/state-webhooks.ts).
  const webhooks = new WebhookNotifier({ urls: config.notify.webhooks, secret: config.notify.secret, logger });
  const unsubscribeWebhooks = runtimes.map((r) => notifyStateChanges(r.state, webhooks, clock));

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
    const planes = runtimes.map((r) => {
      const applied = new AppliedSnapshot({ service: r.name, initial: r.state.snapshot });
      local.subscribe(applied.apply);
      return {
        service: r.config,
        pools: r.pools,
        getSnapshot: () => applied.routing!,
        recorder: options.record === false ? noopRecorder : r.recorder,
        shadow: r.shadow,
      };
    });
    publisher = local;
    let tls: TlsListener[];
    ({ proxy, preview, tls, clientLimiter } = makeListeners(config, {
      certificates,
      services: planes,
      clock,
      logger,
      ...(options.random ? { random: options.random } : {}),
    }));
    tlsListeners.push(...tls);
  } else {
    const ipc = new IpcControlChannel();
    // The up channel carries every service's deltas: each goes to its own service's merger.
    const mergers = new Map<string, TelemetryMerger>();
    for (const r of runtimes) {
      const target: MergeTarget = r.fleetTelemetry
        ? {
            begin: (t) => r.recorder.begin(t),
            retry: (t, ms, kind) => r.recorder.retry(t, ms, kind),
            end: (c, t, status, ms, outcome) => r.recorder.end(c, t, status, ms, outcome),
            releaseInFlight: (t, n) => r.telemetry.releaseInFlight(t, n),
          }
        : r.telemetry;
      mergers.set(r.name, new TelemetryMerger({ telemetry: target, pools: r.pools, clock: r.replayClock! }));
    }
    ipc.subscribe((delta) => mergers.get(delta.service)?.merge(delta));
    ipc.onGone((id) => {
      for (const merger of mergers.values()) merger.forget(id);
    });
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
  // Per service: one publish per state version (a fleet's onApplied and the commit's own publish share it).
  const publishers = new Map<string, (routingState: RoutingState, force?: boolean) => Promise<void>>();
  for (const r of runtimes) {
    const healthOf = (): TargetHealth => ({
      blue: r.pools.blue.targets.map((t) => t.probeHealthy),
      green: r.pools.green.targets.map((t) => t.probeHealthy),
    });
    let lastPublished: { version: number; done: Promise<void> } | undefined;
    const publishState = (routingState: RoutingState, force = false): Promise<void> => {
      if (!force && lastPublished !== undefined && lastPublished.version === routingState.version) return lastPublished.done;
      const snapshot = r.state.snapshot;
      const done = publisher
        .publish({ service: r.name, version: snapshot.version, routing: snapshot, health: healthOf() }, PUBLISH_TIMEOUT_MS)
        .then((c) => {
          if (c.lagging.length > 0) logger.warn({ service: r.name, version: snapshot.version, lagging: c.lagging }, `snapshot ${snapshot.version} applied by ${c.applied}/${c.replicas} workers`);
        });
      lastPublished = { version: routingState.version, done };
      return done;
    };
    publishers.set(r.name, publishState);
    await publishState(r.state.state);
    r.state.publishTo((s) => publishState(s));
    if (workers !== null) {
      // Health has one owner per machine: the control plane's checker. Each verdict goes down the
      // same channel as commits (not awaited: nobody waits for a probe).
      for (const pool of Object.values(r.pools) as ColourPool[]) {
        const set = pool.setProbeHealth.bind(pool);
        pool.setProbeHealth = (t, healthy, why) => {
          const changed = t.probeHealthy !== healthy;
          set(t, healthy, why);
          if (changed) void publishState(r.state.state, true);
        };
      }
    }
  }

  let accepting = true;
  // Every service's active colour has a target that receives traffic (one service: as before).
  const isReady = () => accepting && (workers === null || workers.ready > 0) && runtimes.every((r) => r.ready());
  const metricsRegistry = createMetricsRegistry({
    telemetry,
    pools,
    getSnapshot: () => state.snapshot,
    health,
    shadow: shadow.stats,
    // CONTRACT §10: every per-service series carries `service` (the list is bounded by the config).
    // A §2 config keeps its series exactly as before services (no label: dashboards, alerts and
    // recording rules written for one service keep matching).
    ...(stampService
      ? { services: runtimes.map((r) => ({ name: r.name, telemetry: r.telemetry, pools: r.pools, getSnapshot: () => r.state.snapshot, health: r.health, shadow: r.shadow.stats })) }
      : {}),
    rollouts: { webhookStats: () => webhooks.stats() },
    ...(clientLimiter ? { clientLimiter } : {}),
  });
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
    services,
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
      for (const r of runtimes) {
        // A fleet acks a state (its own commits and other replicas') once every data plane here routes by it.
        await r.fleet?.start(r.state, { lead: background, routedBy: (s) => publishers.get(r.name)!(s) });
        await r.fleetTelemetry?.start();
      }
      if (background) {
        for (const r of runtimes) r.health.start();
        await Promise.all(runtimes.map((r) => r.health.firstRound));
        // The controllers that commit on their own; a fleet gates both on the lease (CONTRACT §6).
        for (const r of runtimes) {
          r.rollouts.start();
          r.verification.start();
        }
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
    for (const r of runtimes) {
      r.rollouts.stop();
      r.verification.stop();
      r.health.stop();
    }
    for (const unsubscribe of unsubscribeWebhooks) unsubscribe();
    webhooks.close();
    if (workers !== null) {
      await workers.drain();
    } else {
      const servers = [proxy, preview].filter((s): s is ProxyServer => s !== null);
      await drainServers(servers, config.shutdown.drainSeconds, () =>
        logger.warn(`drain: still busy after ${config.shutdown.drainSeconds}s, closing remaining connections`),
      );
    }
    await admin.close();
    await Promise.all(runtimes.flatMap((r) => COLOURS.map((c) => r.pools[c].close())));
    await Promise.all(runtimes.map((r) => r.shadow.close()));
    await Promise.all(runtimes.map((r) => r.state.close()));
    for (const r of runtimes) r.fleetTelemetry?.stop();
    await closeFleets();
  }

  return app;
}
