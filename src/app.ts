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
import { buildAdminServer } from './admin/server.ts';
import { DEFAULT_SERVICE, type SnapshotPublisher, type TargetHealth } from './channels/types.ts';
import { LocalSnapshotChannel } from './channels/local.ts';
import { AppliedSnapshot } from './channels/applied.ts';
import { IpcControlChannel } from './channels/ipc.ts';
import { ReplayClock, TelemetryMerger } from './channels/merge.ts';
import { makeListeners, makePools } from './compose.ts';
import { Supervisor, defaultListenMode } from './workers/supervisor.ts';
import { drainServers } from './workers/drain.ts';
import { resolveWorkers } from './workers/count.ts';
import type { ListenMode } from './workers/protocol.ts';

export interface AppOptions {
  readonly clock?: Clock;
  readonly random?: RandomSource;
  /** A pino logger, or false for silence (tests). Default: info to stdout. */
  readonly logger?: Logger | false;
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
  readonly admin: FastifyInstance;
  /** The proxy listener of the single process; null with workers > 1 (the workers listen). */
  readonly proxy: http.Server | null;
  readonly preview: http.Server | null;
  /** The data-plane workers (CONTRACT §7); null with workers: 1. */
  readonly workers: Supervisor | null;
  /** False once shutdown began: /readyz answers 503. */
  readonly accepting: boolean;
  listen(): Promise<ListeningAddresses>;
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
      throw new Error(`state.store: ${config.state.store} is not supported`);
  }
}

/** A worker that has not acked a snapshot by then is reported as lagging (and the change answers). */
const PUBLISH_TIMEOUT_MS = 5000;

function listenModeFromEnv(): ListenMode | undefined {
  const v = process.env.TURNOUT_WORKERS_LISTEN;
  return v === 'shared' || v === 'reuseport' ? v : undefined;
}

function urlOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export async function buildApp(config: TurnoutConfig, options: AppOptions = {}): Promise<TurnoutApp> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger === false ? pino({ level: 'silent' }) : options.logger ?? pino({ name: 'turnout' });
  const background = options.background ?? true;

  const state = await StateManager.open({
    store: options.store ?? openStore(config),
    seed: { active: config.routing.active, weight: config.routing.canaryWeight },
    clock,
  });

  const onHealthChange = (target: { colour: Colour; url: string }, available: boolean, why: string) =>
    logger.warn({ colour: target.colour, target: target.url, available }, `target ${available ? 'available' : 'unavailable'}: ${why}`);
  const pools = makePools(config, clock, onHealthChange);
  const workerCount = resolveWorkers(config.workers);

  // With workers, Telemetry is fed by the merger's replays, stamped with each delta's second.
  const telemetryClock = workerCount > 1 ? new ReplayClock(clock) : clock;
  const telemetry = new Telemetry({ pools, windowSeconds: config.metrics.windowSeconds, clock: telemetryClock });
  const health = new HealthChecker({ pools, config: config.healthCheck, clock, logger });
  const rollouts = new RolloutController({ state, windows: telemetry, clock, logger, notify: config.notify });

  // Snapshots down (channels/): every commit and every probe verdict reaches every data plane,
  // and a change answers only once all of them acked it.
  let publisher: SnapshotPublisher;
  let proxy: http.Server | null = null;
  let preview: http.Server | null = null;
  let workers: Supervisor | null = null;
  if (workerCount === 1) {
    // One process: the in-process transport, and the data plane records straight into Telemetry.
    const local = new LocalSnapshotChannel();
    const applied = new AppliedSnapshot({ initial: state.snapshot });
    local.subscribe(applied.apply);
    publisher = local;
    ({ proxy, preview } = makeListeners(config, {
      pools,
      getSnapshot: () => applied.routing!,
      recorder: options.record === false ? noopRecorder : telemetry,
      ...(options.random ? { random: options.random } : {}),
    }));
  } else {
    const ipc = new IpcControlChannel();
    const merger = new TelemetryMerger({ telemetry, pools, clock: telemetryClock as ReplayClock });
    ipc.subscribe((delta) => merger.merge(delta));
    ipc.onGone((id) => merger.forget(id));
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
  const publish = async () => {
    const snapshot = state.snapshot;
    const c = await publisher.publish({ service: DEFAULT_SERVICE, version: snapshot.version, routing: snapshot, health: healthOf() }, PUBLISH_TIMEOUT_MS);
    if (c.lagging.length > 0) logger.warn({ version: snapshot.version, lagging: c.lagging }, `snapshot ${snapshot.version} applied by ${c.applied}/${c.replicas} workers`);
  };
  await publish();
  state.publishTo(publish);
  if (workers !== null) {
    // Health has one owner per machine: the control plane's checker. Each verdict goes down the
    // same channel as commits (not awaited: nobody waits for a probe).
    for (const pool of Object.values(pools) as ColourPool[]) {
      const set = pool.setProbeHealth.bind(pool);
      pool.setProbeHealth = (target, healthy, why) => {
        const changed = target.probeHealthy !== healthy;
        set(target, healthy, why);
        if (changed) void publish();
      };
    }
  }

  let accepting = true;
  const isReady = () => accepting && (workers === null || workers.ready > 0) && pools[state.snapshot.active].hasAvailable();
  const metricsRegistry = createMetricsRegistry({ telemetry, pools, getSnapshot: () => state.snapshot, health, rollouts });
  if (workers !== null) registerWorkerMetrics(metricsRegistry, workers);
  const admin = await buildAdminServer({
    token: config.admin.token,
    state,
    isReady,
    sticky: config.routing.sticky,
    rolloutSummary: () => rollouts.summary(),
    telemetry,
    metricsRegistry,
    rollouts,
    logger,
  });

  const listenOn = (server: http.Server, host: string, port: number) =>
    new Promise<string>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const a = server.address() as AddressInfo;
        resolve(`http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
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
    admin,
    proxy,
    preview,
    workers,
    get accepting() {
      return accepting;
    },
    async listen() {
      const adminUrl = await admin.listen({ host: config.admin.host, port: config.admin.port });
      let proxyUrl: string;
      let previewUrl: string | null = null;
      if (workers !== null) {
        const ports = await workers.start();
        proxyUrl = urlOf(config.listen.host, ports.proxyPort);
        if (config.preview && ports.previewPort !== null) previewUrl = urlOf(config.preview.host, ports.previewPort);
      } else {
        proxyUrl = await listenOn(proxy!, config.listen.host, config.listen.port);
        previewUrl = preview && config.preview ? await listenOn(preview, config.preview.host, config.preview.port) : null;
      }
      if (background) {
        health.start();
        rollouts.start();
      }
      return { proxy: proxyUrl, preview: previewUrl, admin: adminUrl };
    },
    close() {
      closing ??= shutdown();
      return closing;
    },
  };

  async function shutdown(): Promise<void> {
    accepting = false;
    rollouts.stop();
    health.stop();
    if (workers !== null) {
      await workers.drain();
    } else {
      const servers = [proxy, preview].filter((s): s is http.Server => s !== null);
      await drainServers(servers, config.shutdown.drainSeconds, () =>
        logger.warn(`drain: still busy after ${config.shutdown.drainSeconds}s, closing remaining connections`),
      );
    }
    await admin.close();
    await Promise.all(COLOURS.map((c) => pools[c].close()));
    await state.close();
  }

  return app;
}
