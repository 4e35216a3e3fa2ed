// The validated, defaulted, deep-frozen static configuration (CONTRACT §2), typed from its one
// definition in schema.ts (`Static<>` of each schema: no hand-kept copy, no cast to join them).
// Produced only by config/load.ts; everything downstream receives it read-only. What each field
// means is in schema.ts and docs/configuration.md.
import type { Static, TSchema } from 'typebox';
import type { Frozen } from '../schema/frozen.ts';
import type {
  AdminSchema,
  ConfigSchema,
  FleetSchema,
  HealthCheckSchema,
  ListenSchema,
  LogSchema,
  MetricsSchema,
  NotifySchema,
  OutlierSchema,
  PreviewSchema,
  ProxySchema,
  RoutingSchema,
  ShadowSchema,
  StateSchema,
  StickyBySchema,
  TimeoutsSchema,
  TlsSchema,
  UpstreamSchema,
  VerifySchema,
} from './schema.ts';
import type { ServiceConfig } from './services.ts';

/** The frozen value a schema validates to. */
type Config<S extends TSchema> = Frozen<Static<S>>;

/** A listener: host, port, optional TLS (CONTRACT §8; null: plain HTTP/1.1), http2 (ALPN h2 with tls). */
export type ListenConfig = Config<typeof ListenSchema>;
/** PEM file paths, re-read on SIGHUP: the leaf then its chain, the key, per-SNI pairs. */
export type TlsConfig = NonNullable<Config<typeof TlsSchema>>;
export type SniCertificateConfig = TlsConfig['certificates'][number];
/** The admin listener, its bearer token and the Host allow-list (DNS rebinding). */
export type AdminConfig = Config<typeof AdminSchema>;
/** The preview listener: every request goes to the idle colour; allowFrom: CIDR ranges allowed. */
export type PreviewConfig = NonNullable<Config<typeof PreviewSchema>>;
export type UpstreamConfig = Config<typeof UpstreamSchema>;
export type StickyBy = Static<typeof StickyBySchema>;
export type RoutingConfig = Config<typeof RoutingSchema>;
/** CONTRACT §11: the default verification period of every flip. */
export type VerifyConfig = NonNullable<Config<typeof VerifySchema>>;
export type TimeoutsConfig = Config<typeof TimeoutsSchema>;
export type HealthCheckConfig = Config<typeof HealthCheckSchema>;
export type OutlierConfig = Config<typeof OutlierSchema>;
export type StateConfig = Config<typeof StateSchema>;
/** CONTRACT §6: replicas sharing one Redis. Used only with state.store: redis. */
export type FleetConfig = Config<typeof FleetSchema>;
/** Beyond CONTRACT §2: forwarding knobs an edge proxy needs. All have defaults. */
export type ProxyConfig = Config<typeof ProxySchema>;
export type MetricsConfig = Config<typeof MetricsSchema>;
/** Logging beyond the lifecycle lines (src/proxy/access-log.ts). */
export type LogConfig = Config<typeof LogSchema>;
/** CONTRACT §9: mirroring to the idle colour and comparing its answers (src/shadow/). */
export type ShadowConfig = Config<typeof ShadowSchema>;
export type NotifyConfig = Config<typeof NotifySchema>;
export type TurnoutConfig = Config<typeof ConfigSchema> & {
  /**
   * CONTRACT §10: set only by a `services:` config (then `upstreams` and `routing` above are the
   * first service's). Read it through config/services.ts servicesOf(), which also gives a §2
   * config its one service `default`.
   */
  readonly services?: readonly ServiceConfig[];
};
