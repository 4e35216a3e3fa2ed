// The one definition of the config file (CONTRACT §2, plus proxy, metrics, notify …), in TypeBox:
// each field's type, bounds, default and meaning. It gives the TypeScript types (types.ts:
// `Static<>` of these schemas), the validator (schema/validate.ts: `${VAR}` expansion, defaults,
// the strict Ajv, normalisation, every issue with its field path), and the reference tables of
// docs/configuration.md, which a test checks against it (schema/docs.ts), as it checks
// config/turnout.example.yaml.
// Rules JSON Schema cannot word clearly are named checks (x-rule, schema/rules.ts) that keep their
// messages: `upstreams.green.targets[0]: must be an http(s) URL`.
import { isIP } from 'node:net';
import { Type, type TSchema } from 'typebox';
import { fourDecimals, oneOf, weightSchema } from '../schema/common.ts';
import { defineRule, type Rule, type RuleRef } from '../schema/rules.ts';

export type { Rule } from '../schema/rules.ts';

// --- rules ----------------------------------------------------------------------------------

const MAX_TIMER_MS = 2_147_483_647; // setTimeout's limit; longer delays fire at once

// RFC 9110 §5.6.2 token (header field names) and RFC 6265 §4.1.1 cookie-name (also a token).
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export const isToken: Rule<string> = (v) => (TOKEN.test(v) ? undefined : 'must be a valid token (letters, digits and !#$%&\'*+.^_`|~-, no spaces)');

// RFC 9110 §7.8: protocol-name ["/" protocol-version], both tokens.
const upgradeToken: Rule<string> = (v) =>
  /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:\/[!#$%&'*+.^_`|~0-9A-Za-z-]+)?$/.test(v) ? undefined : 'must be an upgrade protocol token (e.g. websocket)';

// An IP address or a CIDR range (the data plane matches them with routing/cidr.ts).
const cidr: Rule<string> = (v) => {
  const slash = v.indexOf('/');
  const version = isIP(slash === -1 ? v : v.slice(0, slash));
  if (version === 0) return 'must be an IP address or a CIDR range (10.0.0.0/8, 2001:db8::/32)';
  const max = version === 4 ? 32 : 128;
  return slash === -1 || (/^\d{1,3}$/.test(v.slice(slash + 1)) && Number(v.slice(slash + 1)) <= max) ? undefined : `must have a prefix length 0..${max}`;
};

export const MIN_OVERRIDE_SECRET_LENGTH = 32;
const overrideSecret: Rule<string> = (v) =>
  v.length === 0 || v.length >= MIN_OVERRIDE_SECRET_LENGTH
    ? undefined
    : `must be empty (signed override links off) or at least ${MIN_OVERRIDE_SECRET_LENGTH} characters (got ${v.length})`;

// admin.allowedHosts: a host name, `*.suffix` (any name under it), or `*` (no check).
const allowedHost: Rule<string> = (v) =>
  v === '*' || HOSTNAME.test(v.startsWith('*.') ? v.slice(2) : v) ? undefined : 'must be a host name, "*.<domain>" or "*"';

const host: Rule<string> = (v) =>
  isIP(v) !== 0 || HOSTNAME.test(v) ? undefined : 'must be an IP address or a host name';

const ipAddress: Rule<string> = (v) => (isIP(v) !== 0 ? undefined : 'must be an IP address');

function httpUrl(v: string): URL | undefined {
  if (!URL.canParse(v)) return undefined;
  const url = new URL(v);
  return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
}

/** An upstream target is an origin: scheme, host and port, nothing else. */
const targetUrl: Rule<string> = (v) => {
  const url = httpUrl(v);
  if (!url) return 'must be an http(s) URL';
  if (url.username || url.password) return 'must not contain credentials';
  if (url.pathname !== '/') return 'must not have a path (targets are origins: scheme://host:port)';
  if (url.search || v.includes('?')) return 'must not have a query';
  if (url.hash || v.includes('#')) return 'must not have a fragment';
  return undefined;
};

const webhookUrl: Rule<string> = (v) => (httpUrl(v) ? undefined : 'must be an http(s) URL');

const urlPath: Rule<string> = (v) => (/^\/[^\s]*$/.test(v) ? undefined : 'must be a path starting with "/" without spaces');

const jsonPath: Rule<string> = (v) =>
  /^\$(\.[^.\[\]]+|\[(\d+|\*)\])*$/.test(v) ? undefined : 'must be a JSON path such as $.meta.time or $.items[*].id';

const nonEmpty: Rule<string> = (v) => (v.length > 0 ? undefined : 'must not be empty');

export const MIN_TOKEN_LENGTH = 16;
const adminToken: Rule<string> = (v) =>
  v.length >= MIN_TOKEN_LENGTH
    ? undefined
    : `must be at least ${MIN_TOKEN_LENGTH} characters (got ${v.length}): it guards the admin API, which can move all traffic`;

const redisUrl: Rule<string> = (v) => (/^rediss?:\/\/[^\s]+$/.test(v) ? undefined : 'must be a redis:// or rediss:// URL');

const redisKey: Rule<string> = (v) => (/^[A-Za-z0-9._-]{1,64}$/.test(v) ? undefined : 'must be 1..64 characters of A-Z a-z 0-9 . _ -');
const replicaId: Rule<string> = (v) => (v === '' || /^[A-Za-z0-9._-]{1,64}$/.test(v) ? undefined : 'must be empty (automatic) or 1..64 characters of A-Z a-z 0-9 . _ -');


const sniName: Rule<string> = (v) =>
  HOSTNAME.test(v.startsWith('*.') ? v.slice(2) : v) ? undefined : 'must be a host name, or *. followed by one';

// --- builders -------------------------------------------------------------------------------

/** A built-in normaliser (schema/rules.ts), or one registered with defineNormaliser. */
type Normalise = 'lower' | 'upper' | 'origin' | (string & {});
/** A string field: `def` undefined → required (unless the caller wraps it in Type.Optional). */
export const str = (def: string | undefined, rule?: RuleRef, normalise?: Normalise, extra: Record<string, unknown> = {}) =>
  Type.String({ ...(def === undefined ? {} : { default: def }), ...(rule ?? {}), ...(normalise ? { 'x-normalise': normalise } : {}), ...extra });
const int = (def: number, min: number, max: number) => Type.Integer({ default: def, minimum: min, maximum: max });
const ms = (def: number, min: number) => int(def, min, MAX_TIMER_MS);
const num = (def: number, min: number, max: number) => Type.Number({ default: def, minimum: min, maximum: max });
const bool = (def: boolean) => Type.Boolean({ default: def });
/** A mapping of fields; absent or null → every field's default. */
const section = <P extends Record<string, TSchema>>(fields: P, extra: Record<string, unknown> = {}) =>
  Type.Object(fields, { additionalProperties: false, default: {}, ...extra });
/** An optional mapping (a listener such as `preview`): absent or null → null. */
const nullable = <P extends Record<string, TSchema>>(fields: P) => Type.Union([Type.Object(fields, { additionalProperties: false }), Type.Null()], { default: null });
/** A list of unique strings (compared once normalised), with a default. */
const list = <T extends TSchema>(item: T, def: readonly string[]) => Type.Array(item, { default: [...def], 'x-unique': true });

const rule = <T>(name: string, check: Rule<T>): RuleRef => defineRule(`config.${name}`, check);
const r = {
  token: rule('token', isToken),
  upgradeToken: rule('upgradeToken', upgradeToken),
  cidr: rule('cidr', cidr),
  overrideSecret: rule('overrideSecret', overrideSecret),
  allowedHost: rule('allowedHost', allowedHost),
  host: rule('host', host),
  ipAddress: rule('ipAddress', ipAddress),
  targetUrl: rule('targetUrl', targetUrl),
  webhookUrl: rule('webhookUrl', webhookUrl),
  urlPath: rule('urlPath', urlPath),
  jsonPath: rule('jsonPath', jsonPath),
  adminToken: rule('adminToken', adminToken),
  redisUrl: rule('redisUrl', redisUrl),
  redisKey: rule('redisKey', redisKey),
  replicaId: rule('replicaId', replicaId),
  sniName: rule('sniName', sniName),
};

const EVERYONE = ['0.0.0.0/0', '::/0'];
const allowFrom = () => list(str(undefined, r.cidr, 'lower'), EVERYONE);
/** An upstream colour's targets: origins, at least one, no duplicates once normalised. */
export const TargetsSchema = Type.Array(str(undefined, r.targetUrl, 'origin'), { minItems: 1, 'x-unique': true, 'x-hint': 'a non-empty list' });

// TLS termination (CONTRACT §8) on any listener. The PEM files are read, matched and checked for
// expiry by src/tls/certificates.ts when the app is built, before anything listens.
const pemFile = (what: string) => Type.String({ minLength: 1, 'x-hint': `the path of a PEM ${what} file` });
export const TlsSchema = nullable({
  cert: pemFile('certificate (the chain after the leaf)'),
  key: pemFile('private key'),
  certificates: Type.Array(
    Type.Object(
      {
        names: Type.Array(str(undefined, r.sniName, 'lower'), { minItems: 1, 'x-unique': true, 'x-hint': 'a non-empty list' }),
        cert: pemFile('certificate'),
        key: pemFile('private key'),
      },
      { additionalProperties: false },
    ),
    { default: [] },
  ),
});
const listener = (hostDefault: string, portDefault: number) => ({
  host: str(hostDefault, r.host),
  port: int(portDefault, 0, 65535),
  tls: TlsSchema,
  // ALPN h2 beside http/1.1 on a TLS listener; a plain listener speaks HTTP/1.1 only (no h2c).
  http2: bool(true),
});

// --- the schema -----------------------------------------------------------------------------

export const ListenSchema = section(listener('0.0.0.0', 8080));
export const AdminSchema = section({
  ...listener('127.0.0.1', 9901),
  token: str(undefined, r.adminToken, undefined, {
    'x-hint': `a bearer token of at least ${MIN_TOKEN_LENGTH} characters guards the admin API (e.g. token: "\${TURNOUT_ADMIN_TOKEN}")`,
  }),
  allowedHosts: list(str(undefined, r.allowedHost, 'lower'), []),
});
export const PreviewSchema = nullable({ ...listener('0.0.0.0', 8081), allowFrom: allowFrom() });

export const UpstreamSchema = Type.Object({ targets: TargetsSchema }, { additionalProperties: false, 'x-hint': 'a mapping with a non-empty "targets" list' });
export const UpstreamsSchema = Type.Object(
  { blue: UpstreamSchema, green: UpstreamSchema },
  { additionalProperties: false, 'x-hint': 'blue and green, each with a non-empty "targets" list' },
);

// CONTRACT §11: the verification period of every flip (and rollout promotion); null: none.
// The admin API's `verify` (rollout/spec.ts) overrides it per flip, field by field.
export const VerifySchema = nullable({
  seconds: int(300, 1, 7 * 24 * 3600),
  intervalSeconds: num(10, 0.1, 3600),
  minRequests: int(50, 0, 1_000_000_000),
  maxErrorRate: num(0.02, 0, 1),
  maxP99Ms: num(800, 1, 3_600_000),
  maxP99Ratio: num(1.5, 1, 1_000_000),
});

export const StickyBySchema = oneOf(['cookie', 'header', 'ip', 'none'], { default: 'cookie' });
export const RoutingSchema = section({
  active: oneOf(['blue', 'green'], { default: 'blue' }),
  canaryWeight: weightSchema({ default: 0 }),
  sticky: section({
    by: StickyBySchema,
    cookie: str('turnout_id', r.token),
    header: str('x-user-id', r.token, 'lower'),
  }),
  override: section({
    enabled: bool(true),
    header: str('x-turnout-colour', r.token, 'lower'),
    cookie: str('turnout_colour', r.token),
    allowFrom: allowFrom(),
    secret: str('', r.overrideSecret),
  }),
  exposeColourHeader: bool(true),
  // Optional in the type so hand-built configs keep compiling; the loader always fills it.
  verify: Type.Optional(VerifySchema),
});

export const TimeoutsSchema = section({
  connectMs: ms(2000, 10),
  responseMs: ms(30000, 10),
  clientIdleMs: ms(60000, 100),
  // Slow clients (issue 12): body idle, stalled reader, wait for an upstream connection.
  clientBodyMs: ms(30000, 100),
  sendMs: ms(30000, 100),
  queueMs: ms(5000, 0),
});
export const HealthCheckSchema = section({
  path: str('/healthz', r.urlPath),
  intervalMs: ms(2000, 100),
  timeoutMs: ms(1000, 10),
  unhealthyAfter: int(2, 1, 100),
  healthyAfter: int(2, 1, 100),
});
export const OutlierSchema = section({
  consecutiveFailures: int(3, 1, 1000),
  ejectMs: ms(10000, 100),
  maxEjectionPercent: int(50, 0, 100),
});
export const ShutdownSchema = section({ drainSeconds: int(10, 0, 3600) });
export const StateSchema = section({
  store: oneOf(['file', 'memory', 'redis'], { default: 'file' }),
  path: str('./data/state.json', undefined, undefined, { minLength: 1 }),
  url: Type.Optional(str(undefined, r.redisUrl)),
  key: str('turnout', r.redisKey),
});
export const FleetSchema = section({
  leaseMs: ms(5000, 300),
  convergeTimeoutMs: int(1000, 0, 60000),
  heartbeatMs: ms(1000, 100),
  replica: str('', r.replicaId),
});
export const ProxySchema = section({
  trustedProxies: list(str(undefined, r.ipAddress, 'lower'), []),
  maxHeaders: int(100, 10, 10000),
  retryBudget: num(0.2, 0, 1),
  upgradeProtocols: list(str(undefined, r.upgradeToken, 'lower'), ['websocket']),
  underscoresInHeaders: bool(false),
  // Slow clients (issue 12): upstream pool size and queue, per-client concurrency (0: off).
  connectionsPerTarget: int(256, 1, 65536),
  maxQueuedPerTarget: int(1024, 0, 1_000_000),
  maxConcurrentPerClient: int(1024, 0, 1_000_000),
  requestBufferBytes: int(0, 0, 16_777_216),
});
export const MetricsSchema = section({ windowSeconds: int(60, 10, 3600) });
export const LogSchema = section({ access: bool(false) });
// CONTRACT §7: data-plane processes under one control plane; `auto` = os.availableParallelism().
export const WorkersSchema = Type.Union([Type.Integer({ minimum: 1, maximum: 1024 }), Type.Literal('auto')], { default: 1 });
// CONTRACT §9: shadow comparison (src/shadow/). percent is only the seed: PUT /api/v1/shadow changes it.
export const ShadowSchema = section({
  percent: Type.Number({ default: 0, minimum: 0, maximum: 100, ...fourDecimals }),
  methods: list(str(undefined, r.token, 'upper'), ['GET', 'HEAD']),
  maxBodyBytes: int(1_048_576, 0, 64 * 1_048_576),
  memoryBytes: int(64 * 1_048_576, 0, 4096 * 1_048_576),
  timeoutMs: ms(5000, 10),
  ignoreHeaders: list(str(undefined, r.token, 'lower'), ['date']),
  ignoreJsonPaths: list(str(undefined, r.jsonPath), []),
  noisePercent: num(10, 0, 100),
});
export const NotifySchema = section({
  webhooks: list(str(undefined, r.webhookUrl), []),
  secret: str(''),
});

export const ConfigSchema = section({
  listen: ListenSchema,
  admin: AdminSchema,
  preview: PreviewSchema,
  upstreams: UpstreamsSchema,
  routing: RoutingSchema,
  timeouts: TimeoutsSchema,
  healthCheck: HealthCheckSchema,
  outlier: OutlierSchema,
  shutdown: ShutdownSchema,
  state: StateSchema,
  fleet: FleetSchema,
  proxy: ProxySchema,
  metrics: MetricsSchema,
  log: LogSchema,
  workers: WorkersSchema,
  // Issue 13: forked, built workers kept waiting to replace one that dies at once (workers/spare.ts);
  // used only with workers > 1. Optional in the type so hand-built test configs keep compiling.
  spareWorkers: Type.Optional(int(1, 0, 16)),
  // Optional in the type so hand-built test configs keep compiling; the loader always fills it.
  shadow: Type.Optional(ShadowSchema),
  notify: NotifySchema,
});

/** The old name, for the tests and tools that walk the tree. */
export const configSchema = ConfigSchema;
