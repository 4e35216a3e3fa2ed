// The validated, defaulted, deep-frozen static configuration (CONTRACT §2).
// Produced only by config/load.ts; everything downstream receives it read-only.
import type { Colour, Weight } from '../domain.ts';
import type { ServiceConfig } from './services.ts';

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
  /** Host names (or `*.suffix`, or `*`) accepted in Host besides IP literals, localhost and admin.host (DNS rebinding). */
  readonly allowedHosts: readonly string[];
}

/** The preview listener: every request goes to the idle colour. */
export interface PreviewConfig extends ListenConfig {
  /** Client addresses (CIDR ranges) allowed to use it; others get 403. */
  readonly allowFrom: readonly string[];
}

export interface UpstreamConfig {
  readonly targets: readonly string[];
}

export type StickyBy = 'cookie' | 'header' | 'ip' | 'none';

export interface RoutingConfig {
  readonly active: Colour;
  readonly canaryWeight: Weight;
  readonly sticky: { readonly by: StickyBy; readonly cookie: string; readonly header: string };
  readonly override: {
    readonly enabled: boolean;
    readonly header: string;
    readonly cookie: string;
    /** Client addresses (CIDR ranges) whose plain override values are honoured. */
    readonly allowFrom: readonly string[];
    /** HMAC key of signed override values (POST /api/v1/override-links); empty: off. */
    readonly secret: string;
  };
  readonly exposeColourHeader: boolean;
  /** CONTRACT §11: the default verification period of every flip; null (or absent) for none. */
  readonly verify?: VerifyConfig | null;
}

export interface VerifyConfig {
  readonly seconds: number;
  readonly intervalSeconds: number;
  readonly minRequests: number;
  readonly maxErrorRate: number;
  readonly maxP99Ms: number;
  readonly maxP99Ratio: number;
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
  /** At most ⌊N × this / 100⌋ of a colour's N targets are ejected at once (CONTRACT §3). */
  readonly maxEjectionPercent: number;
}

export interface StateConfig {
  readonly store: 'file' | 'memory' | 'redis';
  readonly path: string;
  readonly url?: string;
  /** store: redis — the prefix of every key, so several fleets share one Redis. */
  readonly key: string;
}

/** CONTRACT §6: replicas sharing one Redis. Used only with state.store: redis. */
export interface FleetConfig {
  /** The rollout leader's lease; renewed every leaseMs / 3. */
  readonly leaseMs: number;
  /** A write answers once every live replica applied it, or after this. */
  readonly convergeTimeoutMs: number;
  /** Heartbeat and version-check period; a replica is live while its heartbeat (TTL 3×) lasts. */
  readonly heartbeatMs: number;
  /** This replica's id; empty: `<hostname>-<pid>-<random>`. */
  readonly replica: string;
}

/** Beyond CONTRACT §2: forwarding knobs an edge proxy needs. All have defaults. */
export interface ProxyConfig {
  /** Addresses (exact IPs) whose incoming x-forwarded-* headers are trusted and extended. */
  readonly trustedProxies: readonly string[];
  /** More request header fields than this → 431. */
  readonly maxHeaders: number;
  /** Retries of idempotent requests to another target of the same colour, as a fraction of requests. */
  readonly retryBudget: number;
  /** Upgrade protocols tunnelled (lower-case tokens); any other Upgrade is ignored. */
  readonly upgradeProtocols: readonly string[];
  /** Forward request header names containing `_` (nginx `underscores_in_headers`); default false. */
  readonly underscoresInHeaders: boolean;
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

/** Logging beyond the lifecycle lines (src/proxy/access-log.ts). */
export interface LogConfig {
  /** One JSON line per proxied request; off: only 502/503/504 causes, at warn, rate-limited. */
  readonly access: boolean;
}

/** CONTRACT §9: mirroring to the idle colour and comparing its answers (src/shadow/). */
export interface ShadowConfig {
  /** The seed of the dynamic shadow percent (state wins once set through the admin API). */
  readonly percent: number;
  /** Upper-case methods mirrored (default GET, HEAD). */
  readonly methods: readonly string[];
  /** Requests with a larger body are not mirrored; at most this much of each answer is buffered. */
  readonly maxBodyBytes: number;
  /** Global budget of buffered shadow bytes; a pair that would exceed it is dropped and counted. */
  readonly memoryBytes: number;
  /** The shadow's own connect/headers/body timeout. */
  readonly timeoutMs: number;
  /** Lower-case response header names never compared. */
  readonly ignoreHeaders: readonly string[];
  /** JSON paths never compared (`$.a.b`, `$.items[*].id`). */
  readonly ignoreJsonPaths: readonly string[];
  /** Share (percent) of mirrored requests also sent to a second active target to learn noise. */
  readonly noisePercent: number;
}

export interface NotifyConfig {
  readonly webhooks: readonly string[];
  readonly secret: string;
}

export interface TurnoutConfig {
  readonly listen: ListenConfig;
  readonly admin: AdminConfig;
  readonly preview: PreviewConfig | null;
  readonly upstreams: { readonly blue: UpstreamConfig; readonly green: UpstreamConfig };
  readonly routing: RoutingConfig;
  readonly timeouts: TimeoutsConfig;
  readonly healthCheck: HealthCheckConfig;
  readonly outlier: OutlierConfig;
  readonly shutdown: { readonly drainSeconds: number };
  readonly state: StateConfig;
  readonly fleet: FleetConfig;
  readonly proxy: ProxyConfig;
  readonly metrics: MetricsConfig;
  readonly log: LogConfig;
  /** CONTRACT §7: data-plane processes; `auto` = os.availableParallelism(). 1 = a single process. */
  readonly workers: number | 'auto';
  /** Warm spare workers (workers/spare.ts), used only with workers > 1. Optional for hand-built test configs. */
  readonly spareWorkers?: number;
  readonly notify: NotifyConfig;
  /** Optional in the type so hand-built test configs keep compiling; the loader always fills it. */
  readonly shadow?: ShadowConfig;
  /**
   * CONTRACT §10: set only by a `services:` config (then `upstreams` and `routing` above are the
   * first service's). Read it through config/services.ts servicesOf(), which also gives a §2
   * config its one service `default`.
   */
  readonly services?: readonly ServiceConfig[];
}
