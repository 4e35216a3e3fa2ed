// The validated, defaulted, deep-frozen static configuration (CONTRACT §2).
// Produced only by config/load.ts; everything downstream receives it read-only.
import type { Colour, Weight } from '../domain.ts';

export interface ListenConfig {
  readonly host: string;
  readonly port: number;
}

export interface AdminConfig extends ListenConfig {
  readonly token: string;
}

export interface UpstreamConfig {
  readonly targets: readonly string[];
}

export type StickyBy = 'cookie' | 'header' | 'ip' | 'none';

export interface RoutingConfig {
  readonly active: Colour;
  readonly canaryWeight: Weight;
  readonly sticky: { readonly by: StickyBy; readonly cookie: string; readonly header: string };
  readonly override: { readonly enabled: boolean; readonly header: string; readonly cookie: string };
  readonly exposeColourHeader: boolean;
}

export interface TimeoutsConfig {
  readonly connectMs: number;
  /** Until the upstream's response headers arrive. */
  readonly responseMs: number;
  /** A client connection (or an upstream body) idle this long is closed. */
  readonly clientIdleMs: number;
  /** A request body that sends nothing for this long: 408 and the connection closed (nginx client_body_timeout). */
  readonly clientBodyMs: number;
  /** A client that accepts none of its answer for this long is disconnected (nginx send_timeout). */
  readonly sendMs: number;
  /** Longest wait for a free upstream connection before answering 503. */
  readonly queueMs: number;
}

export interface HealthCheckConfig {
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly unhealthyAfter: number;
  readonly healthyAfter: number;
}

export interface OutlierConfig {
  readonly consecutiveFailures: number;
  readonly ejectMs: number;
}

export interface StateConfig {
  readonly store: 'file' | 'memory' | 'redis';
  readonly path: string;
  readonly url?: string;
}

/** Beyond CONTRACT §2: forwarding knobs an edge proxy needs. All have defaults. */
export interface ProxyConfig {
  /** Addresses (exact IPs) whose incoming x-forwarded-* headers are trusted and extended. */
  readonly trustedProxies: readonly string[];
  /** More request header fields than this → 431. */
  readonly maxHeaders: number;
  /** Retries of idempotent requests to another target of the same colour, as a fraction of requests. */
  readonly retryBudget: number;
  /** Upstream connections per target (undici Pool `connections`). */
  readonly connectionsPerTarget: number;
  /** Requests that may wait for a connection, per target; more get 503 at once. */
  readonly maxQueuedPerTarget: number;
  /** Requests in flight per client (the real client behind trusted proxies); more get 429. 0: no cap. */
  readonly maxConcurrentPerClient: number;
  /** Bodies with a Content-Length up to this are read whole before an upstream connection is taken; 0: always stream. */
  readonly requestBufferBytes: number;
}

export interface MetricsConfig {
  /** Sliding window length for /api/v1/upstreams and rollout analysis. */
  readonly windowSeconds: number;
}

export interface NotifyConfig {
  readonly webhooks: readonly string[];
  readonly secret: string;
}

export interface TurnoutConfig {
  readonly listen: ListenConfig;
  readonly admin: AdminConfig;
  readonly preview: ListenConfig | null;
  readonly upstreams: { readonly blue: UpstreamConfig; readonly green: UpstreamConfig };
  readonly routing: RoutingConfig;
  readonly timeouts: TimeoutsConfig;
  readonly healthCheck: HealthCheckConfig;
  readonly outlier: OutlierConfig;
  readonly shutdown: { readonly drainSeconds: number };
  readonly state: StateConfig;
  readonly proxy: ProxyConfig;
  readonly metrics: MetricsConfig;
  readonly notify: NotifyConfig;
}
