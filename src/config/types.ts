// The validated, defaulted, deep-frozen static configuration (CONTRACT §2).
// Produced only by config/load.ts; everything downstream receives it read-only.
import type { Colour, Weight } from '../domain.ts';

export interface ListenConfig {
  readonly host: string;
  readonly port: number;
  /** TLS termination (CONTRACT §8); null: plain HTTP/1.1. */
  readonly tls: TlsConfig | null;
  /** With tls: ALPN offers h2 and http/1.1 (default true). Ignored without tls. */
  readonly http2: boolean;
}

/** PEM file paths, re-read on SIGHUP. */
export interface TlsConfig {
  /** The leaf certificate, then its chain. */
  readonly cert: string;
  readonly key: string;
  /** Per-SNI pairs; a name is exact or `*.` + a domain (one label). The top pair is the default. */
  readonly certificates: readonly SniCertificateConfig[];
}

export interface SniCertificateConfig {
  readonly names: readonly string[];
  readonly cert: string;
  readonly key: string;
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
