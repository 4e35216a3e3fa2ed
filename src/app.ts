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
import { ColourPool } from './upstream/pool.ts';
import { HealthChecker } from './upstream/health-check.ts';
import { Telemetry } from './metrics/telemetry.ts';
import { noopRecorder } from './metrics/recorder.ts';
import { createMetricsRegistry } from './metrics/prometheus.ts';
import { createDataPlane } from './proxy/data-plane.ts';
import { createProxyListener } from './proxy/listener.ts';
import { ClientLimiter } from './proxy/client-limiter.ts';
import { BodyBudget } from './proxy/request-buffer.ts';
import { RolloutController } from './rollout/controller.ts';
import { buildAdminServer } from './admin/server.ts';

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
  readonly proxy: http.Server;
  readonly preview: http.Server | null;
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
  const makePool = (colour: Colour) =>
    new ColourPool(colour, config.upstreams[colour].targets, {
      clock,
      outlier: config.outlier,
      onHealthChange,
      dispatcher: {
        connectMs: config.timeouts.connectMs,
        responseMs: config.timeouts.responseMs,
        connections: config.proxy.connectionsPerTarget,
        queueMs: config.timeouts.queueMs,
        maxQueued: config.proxy.maxQueuedPerTarget,
      },
    });
  const pools: Record<Colour, ColourPool> = { blue: makePool('blue'), green: makePool('green') };

  const telemetry = new Telemetry({ pools, windowSeconds: config.metrics.windowSeconds, clock });
  const health = new HealthChecker({ pools, config: config.healthCheck, clock, logger });
  const rollouts = new RolloutController({ state, windows: telemetry, clock, logger, notify: config.notify });

  const clientLimiter = new ClientLimiter(config.proxy.maxConcurrentPerClient);
  const dataPlaneDeps = {
    pools,
    clientLimiter,
    bodyBudget: new BodyBudget(1024 * config.proxy.requestBufferBytes),
    getSnapshot: () => state.snapshot,
    recorder: options.record === false ? noopRecorder : telemetry,
    routing: config.routing,
    proxy: config.proxy,
    responseMs: config.timeouts.responseMs,
    ...(options.random ? { random: options.random } : {}),
  };
  const proxy = createProxyListener(createDataPlane({ ...dataPlaneDeps, role: 'main' }), config.timeouts);
  const preview = config.preview ? createProxyListener(createDataPlane({ ...dataPlaneDeps, role: 'preview' }), config.timeouts) : null;

  let accepting = true;
  const isReady = () => accepting && pools[state.snapshot.active].hasAvailable();
  const metricsRegistry = createMetricsRegistry({ telemetry, pools, getSnapshot: () => state.snapshot, health, rollouts, clientLimiter });
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
    get accepting() {
      return accepting;
    },
    async listen() {
      const adminUrl = await admin.listen({ host: config.admin.host, port: config.admin.port });
      const proxyUrl = await listenOn(proxy, config.listen.host, config.listen.port);
      const previewUrl = preview && config.preview ? await listenOn(preview, config.preview.host, config.preview.port) : null;
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
    const servers = [proxy, preview].filter((s): s is http.Server => s !== null && s.listening);
    const drained = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    // Keep-alive connections that go idle while draining are closed as they do.
    const sweep = setInterval(() => servers.forEach((s) => s.closeIdleConnections()), 100);
    servers.forEach((s) => s.closeIdleConnections());
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), config.shutdown.drainSeconds * 1000);
    });
    if ((await Promise.race([drained, deadline])) === 'timeout') {
      logger.warn(`drain: still busy after ${config.shutdown.drainSeconds}s, closing remaining connections`);
      servers.forEach((s) => s.closeAllConnections());
      await drained;
    }
    clearTimeout(timer);
    clearInterval(sweep);
    await admin.close();
    await Promise.all(COLOURS.map((c) => pools[c].close()));
    await state.close();
  }

  return app;
}
