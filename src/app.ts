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
import { RolloutController } from './rollout/controller.ts';
import { VerificationController } from './rollout/verification.ts';
import { notifyStateChanges } from './notify/state-webhooks.ts';
import { WebhookNotifier } from './notify/webhooks.ts';
import { buildAdminServer } from './admin/server.ts';
import type { OverrideLinks } from './admin/routes-override-links.ts';
import { signOverride } from './routing/override-token.ts';
import { OVERRIDE_LINK_PATH } from './proxy/override-link.ts';

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
  /** Post-flip verification (CONTRACT §11); started and stopped with the rollout controller. */
  readonly verification: VerificationController;
  readonly admin: FastifyInstance;
  readonly proxy: http.Server;
  readonly preview: http.Server | null;
  /** False once shutdown began: /readyz answers 503. */
  readonly accepting: boolean;
  /**
   * Binds the listeners, then starts the health checks and resolves once their first round is
   * applied (at most healthCheck.timeoutMs later): until then no target receives traffic (503)
   * and /readyz answers 503.
   */
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
      // Start cautious (issue 12): health is not persisted, so no target is trusted before its
      // first probe; without health checks (background: false) there is no probe to wait for.
      awaitFirstProbe: background,
      dispatcher: {
        connectMs: config.timeouts.connectMs,
        responseMs: config.timeouts.responseMs,
        connections: 256,
      },
    });
  const pools: Record<Colour, ColourPool> = { blue: makePool('blue'), green: makePool('green') };

  const telemetry = new Telemetry({ pools, windowSeconds: config.metrics.windowSeconds, clock });
  const health = new HealthChecker({ pools, config: config.healthCheck, clock, logger });
  const verification = new VerificationController({ state, windows: telemetry, clock, logger, defaults: config.routing.verify ?? null });
  const rollouts = new RolloutController({
    state,
    windows: telemetry,
    clock,
    logger,
    decoratePromotion: (before, promotion) => verification.decoratePromotion(before, promotion),
  });

  // Every committed change, whoever made it, goes to the webhooks (notify/state-webhooks.ts).
  const webhooks = new WebhookNotifier({ urls: config.notify.webhooks, secret: config.notify.secret, logger });
  const unsubscribeWebhooks = notifyStateChanges(state, webhooks, clock);

  const dataPlaneDeps = {
    pools,
    getSnapshot: () => state.snapshot,
    recorder: options.record === false ? noopRecorder : telemetry,
    routing: config.routing,
    proxy: config.proxy,
    responseMs: config.timeouts.responseMs,
    connectMs: config.timeouts.connectMs,
    clock,
    ...(options.random ? { random: options.random } : {}),
  };
  const proxy = createProxyListener(createDataPlane({ ...dataPlaneDeps, role: 'main' }), config.timeouts);
  const preview = config.preview ? createProxyListener(createDataPlane({ ...dataPlaneDeps, role: 'preview', allowFrom: config.preview.allowFrom }), config.timeouts) : null;

  let accepting = true;
  const isReady = () => accepting && pools[state.snapshot.active].hasAvailable();
  const metricsRegistry = createMetricsRegistry({ telemetry, pools, getSnapshot: () => state.snapshot, health, rollouts: { webhookStats: () => webhooks.stats() } });
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
  const admin = await buildAdminServer({
    allowedHosts: config.admin.allowedHosts,
    adminHost: config.admin.host,
    ...(overrideLinks ? { overrideLinks } : {}),
    token: config.admin.token,
    state,
    isReady,
    sticky: config.routing.sticky,
    rolloutSummary: () => rollouts.summary(),
    telemetry,
    metricsRegistry,
    rollouts,
    verification,
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
    verification,
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
        await health.firstRound;
        // The controllers that commit on their own; a fleet gates both on the lease (CONTRACT §6).
        rollouts.start();
        verification.start();
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
    verification.stop();
    unsubscribeWebhooks();
    webhooks.close();
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
