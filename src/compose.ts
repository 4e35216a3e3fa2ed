// What the single process (app.ts) and a worker process (worker.ts) build alike: the colour pools
// and the proxy/preview listeners around the data plane. Kept apart from app.ts so that a worker
// loads no admin, state or rollout code (less memory per worker).
import type http from 'node:http';
import type { Logger } from 'pino';
import type { Clock, Colour, RandomSource } from './domain.ts';
import type { TurnoutConfig } from './config/types.ts';
import type { Recorder } from './metrics/recorder.ts';
import type { RoutingSnapshot } from './state/model.ts';
import { ColourPool } from './upstream/pool.ts';
import type { HealthChange } from './upstream/target.ts';
import { createDataPlane } from './proxy/data-plane.ts';
import { createDispatcher } from './proxy/dispatch.ts';
import { buildServiceMatcher } from './routing/service-match.ts';
import type { ServiceConfig } from './config/services.ts';
import { createProxyListener } from './proxy/listener.ts';
import { createResponseLog } from './proxy/access-log.ts';
import { ClientLimiter } from './proxy/client-limiter.ts';
import { BodyBudget } from './proxy/request-buffer.ts';
import type { ListenConfig } from './config/types.ts';
import type { ShadowHook } from './shadow/mirror.ts';
import type { ListenerCertificates, ListenerField } from './tls/listeners.ts';
import { createTlsProxyListener } from './tls/proxy-listener.ts';
import type { SecureServer, TlsListener } from './tls/secure-server.ts';

/**
 * `awaitFirstProbe` (start cautious, issue 12): health is not persisted, so no target is trusted
 * before its first probe; without health checks there is no probe to wait for.
 */
export function makePools(config: TurnoutConfig, clock: Clock, onHealthChange: HealthChange, awaitFirstProbe = false): Record<Colour, ColourPool> {
  return makeServicePools(config, config.upstreams, clock, onHealthChange, awaitFirstProbe);
}

/** One service's pools (CONTRACT §10): its own targets, the process-wide timeouts and limits. */
export function makeServicePools(
  config: TurnoutConfig,
  upstreams: ServiceConfig['upstreams'],
  clock: Clock,
  onHealthChange: HealthChange,
  awaitFirstProbe = false,
): Record<Colour, ColourPool> {
  const make = (colour: Colour) =>
    new ColourPool(colour, upstreams[colour].targets, {
      clock,
      outlier: config.outlier,
      onHealthChange,
      awaitFirstProbe,
      dispatcher: {
        connectMs: config.timeouts.connectMs,
        responseMs: config.timeouts.responseMs,
        connections: config.proxy.connectionsPerTarget,
        queueMs: config.timeouts.queueMs,
        maxQueued: config.proxy.maxQueuedPerTarget,
      },
    });
  return { blue: make('blue'), green: make('green') };
}

/** What one service's data plane routes with (CONTRACT §10); config order, as servicesOf(config). */
export interface ServicePlaneDeps {
  readonly service: ServiceConfig;
  readonly pools: Readonly<Record<Colour, ColourPool>>;
  readonly getSnapshot: () => RoutingSnapshot;
  readonly recorder: Recorder;
  /** CONTRACT §9: mirroring of the main listener's requests (single process only, for now). */
  readonly shadow?: ShadowHook;
}

export interface ListenerDeps {
  readonly services: readonly ServicePlaneDeps[];
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random?: RandomSource;
  /** tls/listeners.ts loadListenerCertificates(config): needed when a proxy listener has `tls`. */
  readonly certificates?: ListenerCertificates;
}

export type ProxyServer = http.Server | SecureServer;

/**
 * The proxy listener and (when configured) the preview listener, plain or TLS (CONTRACT §8);
 * not listening yet. `tls`: the TLS listeners, for certificate reloads on SIGHUP.
 */
export function makeListeners(
  config: TurnoutConfig,
  deps: ListenerDeps,
): { proxy: ProxyServer; preview: ProxyServer | null; tls: TlsListener[]; clientLimiter: ClientLimiter } {
  // One per process, shared by its listeners: the per-client cap and the buffered-body budget.
  const clientLimiter = new ClientLimiter(config.proxy.maxConcurrentPerClient);
  const bodyBudget = new BodyBudget(1024 * config.proxy.requestBufferBytes);
  // Each service its own data plane (snapshot, pools, retry budgets, access-log service name);
  // the dispatcher in front picks one per request (CONTRACT §10).
  const perService = deps.services.map((s) => ({
    plane: s,
    deps: {
      pools: s.pools,
      clientLimiter,
      bodyBudget,
      getSnapshot: s.getSnapshot,
      recorder: s.recorder,
      responseLog: createResponseLog({ logger: deps.logger, access: config.log.access, service: s.service.name }),
      routing: s.service.routing,
      proxy: config.proxy,
      responseMs: config.timeouts.responseMs,
      connectMs: config.timeouts.connectMs,
      clock: deps.clock,
      ...(deps.random ? { random: deps.random } : {}),
    },
  }));
  const matcher = buildServiceMatcher(deps.services.map((s) => s.service.match));
  const tls: TlsListener[] = [];
  const listener = (role: 'main' | 'preview', field: ListenerField, listen: ListenConfig, allowFrom?: readonly string[]): ProxyServer => {
    const planes = perService.map(({ plane, deps: planeDeps }) => {
      const shadow = role === 'main' && plane.shadow ? { shadow: plane.shadow } : {};
      return createDataPlane({ ...planeDeps, role, proto: listen.tls ? 'https' : 'http', ...(allowFrom ? { allowFrom } : {}), ...shadow });
    });
    const dataPlane = createDispatcher(matcher, planes);
    if (listen.tls === null || listen.tls === undefined) return createProxyListener(dataPlane, config.timeouts);
    const certificates = deps.certificates?.[field];
    if (!certificates) throw new Error(`${field}.tls: certificates were not loaded`);
    const l = createTlsProxyListener(dataPlane, config.timeouts, { tls: listen.tls, http2: listen.http2, field, certificates });
    tls.push(l);
    return l.server;
  };
  const proxy = listener('main', 'listen', config.listen);
  const preview = config.preview ? listener('preview', 'preview', config.preview, config.preview.allowFrom) : null;
  return { proxy, preview, tls, clientLimiter };
}
