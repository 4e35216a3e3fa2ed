// A data plane alone (pools + listener) on 127.0.0.1:0 with a snapshot the test controls and a
// recorder that keeps every call: for proxy tests that need no admin or store.
import type http from 'node:http';
import { toWeight } from '../../src/domain.ts';
import type { AddressInfo } from 'node:net';
import type { Colour, Outcome, RandomSource } from '../../src/domain.ts';
import type { ProxyConfig, RoutingConfig, TimeoutsConfig } from '../../src/config/types.ts';
import type { Recorder } from '../../src/metrics/recorder.ts';
import { snapshotOf, type RoutingSnapshot } from '../../src/state/model.ts';
import { ColourPool } from '../../src/upstream/pool.ts';
import type { Target } from '../../src/upstream/target.ts';
import { createDataPlane, type ListenerRole } from '../../src/proxy/data-plane.ts';
import { createProxyListener } from '../../src/proxy/listener.ts';
import { ClientLimiter } from '../../src/proxy/client-limiter.ts';
import { createTlsProxyListener } from '../../src/tls/proxy-listener.ts';
import { loadCertificates } from '../../src/tls/certificates.ts';

export const defaultRouting: RoutingConfig = {
  active: 'blue',
  canaryWeight: toWeight(0),
  sticky: { by: 'cookie', cookie: 'turnout_id', header: 'x-user-id' },
  override: { enabled: true, header: 'x-turnout-colour', cookie: 'turnout_colour', allowFrom: ['0.0.0.0/0', '::/0'], secret: '' },
  exposeColourHeader: true,
};

export const defaultProxy: ProxyConfig = { trustedProxies: [], maxHeaders: 100, retryBudget: 0.2, upgradeProtocols: ['websocket'], underscoresInHeaders: false, connectionsPerTarget: 64, maxQueuedPerTarget: 1024, maxConcurrentPerClient: 1024, requestBufferBytes: 0 };
export const defaultTimeouts: TimeoutsConfig = { connectMs: 2000, responseMs: 30000, clientIdleMs: 60000, clientBodyMs: 30000, sendMs: 30000, queueMs: 5000 };

export interface Recorded {
  colour: Colour;
  target: string | null;
  statusCode: number;
  outcome: Outcome;
}

export interface TestProxy {
  url: string;
  port: number;
  server: http.Server;
  pools: Record<Colour, ColourPool>;
  /** Client responses (Recorder.end). */
  recorded: Recorded[];
  /** Failed attempts that were retried on another target (Recorder.retry). */
  retries: { colour: Colour; target: string; outcome: Outcome }[];
  inFlight: number;
  setState(state: { active: Colour; weight: number }): void;
  snapshot(): RoutingSnapshot;
  close(): Promise<void>;
}

export interface TestProxyOptions {
  blue: string[];
  green: string[];
  active?: Colour;
  weight?: number;
  routing?: Partial<RoutingConfig>;
  proxy?: Partial<ProxyConfig>;
  timeouts?: Partial<TimeoutsConfig>;
  role?: ListenerRole;
  random?: RandomSource;
  outlier?: { consecutiveFailures: number; ejectMs: number };
  /** Listener allow-list (preview.allowFrom). */
  allowFrom?: readonly string[];
  /** For signed override expiry. */
  clock?: { now(): number };
  /** A TLS listener (src/tls/proxy-listener.ts) with these PEM files; http2 defaults to true. */
  tls?: { cert: string; key: string; http2?: boolean };
}

export async function startProxy(t: { teardown(fn: () => unknown): void }, options: TestProxyOptions): Promise<TestProxy> {
  let snapshot = snapshotOf({ version: 1, active: options.active ?? 'blue', weight: toWeight(options.weight ?? 0) });
  const timeouts = { ...defaultTimeouts, ...options.timeouts };
  const clock = { now: () => Date.now() };
  const outlier = options.outlier ?? { consecutiveFailures: 0, ejectMs: 10_000 };
  const proxy = { ...defaultProxy, ...options.proxy };
  const dispatcher = { connectMs: timeouts.connectMs, responseMs: timeouts.responseMs, connections: proxy.connectionsPerTarget, queueMs: timeouts.queueMs, maxQueued: proxy.maxQueuedPerTarget };
  const pools: Record<Colour, ColourPool> = {
    blue: new ColourPool('blue', options.blue, { clock, outlier, dispatcher }),
    green: new ColourPool('green', options.green, { clock, outlier, dispatcher }),
  };
  const recorded: Recorded[] = [];
  const retries: TestProxy['retries'] = [];
  const handle = {
    inFlight: 0,
  };
  const recorder: Recorder = {
    begin(_target: Target) {
      handle.inFlight++;
    },
    retry(target, _attemptMs, outcome) {
      handle.inFlight--;
      retries.push({ colour: target.colour, target: target.url, outcome });
    },
    end(colour, target, statusCode, _durationMs, outcome) {
      if (target) handle.inFlight--;
      recorded.push({ colour, target: target?.url ?? null, statusCode, outcome });
    },
  };
  const dataPlane = createDataPlane({
      pools,
      getSnapshot: () => snapshot,
      recorder,
      routing: { ...defaultRouting, ...options.routing },
      proxy,
      clientLimiter: new ClientLimiter(proxy.maxConcurrentPerClient),
      role: options.role ?? 'main',
      responseMs: timeouts.responseMs,
      connectMs: timeouts.connectMs,
      ...(options.allowFrom ? { allowFrom: options.allowFrom } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.random ? { random: options.random } : {}),
      ...(options.tls ? { proto: 'https' as const } : {}),
    });
  const tlsConfig = options.tls ? { cert: options.tls.cert, key: options.tls.key, certificates: [] } : undefined;
  const server: http.Server = tlsConfig
    ? (createTlsProxyListener(dataPlane, timeouts, { tls: tlsConfig, http2: options.tls!.http2 ?? true, field: 'listen', certificates: loadCertificates(tlsConfig, 'listen.tls') }).server as unknown as http.Server)
    : createProxyListener(dataPlane, timeouts);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let version = 1;
  const close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await pools.blue.close();
    await pools.green.close();
  };
  t.teardown(close);
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    server,
    pools,
    recorded,
    retries,
    get inFlight() {
      return handle.inFlight;
    },
    setState(state) {
      snapshot = snapshotOf({ version: ++version, active: state.active, weight: toWeight(state.weight) });
    },
    snapshot: () => snapshot,
    close,
  };
}
