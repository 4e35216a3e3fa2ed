// The declarative config schema: every field of CONTRACT §2 (plus proxy, metrics, notify) with
// its type, bounds and default. load.ts walks it; docs/configuration.md and
// config/turnout.example.yaml describe the same tree (a test keeps the three in step).
// Hand-written rather than Ajv: each rule owns its message, so errors read
// `upstreams.green.targets[0]: must be an http(s) URL` without a translation table.
import { isIP } from 'node:net';
import { isValidWeight } from '../domain.ts';

/** A rule returns a message when the value is wrong, else undefined. */
export type Rule<T> = (value: T) => string | undefined;

export interface StringSpec {
  readonly kind: 'string';
  readonly default?: string;
  readonly rule?: Rule<string>;
  /** Applied after the rule passed (normalisation: lower-casing, URL origin). */
  readonly normalise?: (value: string) => string;
  /** Extra words for the "required" message. */
  readonly requiredHint?: string;
  /** No default and absent → left out of the result instead of "required". */
  readonly optional?: boolean;
}
export interface IntegerSpec {
  readonly kind: 'integer';
  readonly default: number;
  readonly min: number;
  readonly max: number;
  /** Words also accepted as they are, instead of a number (`workers: auto`). */
  readonly words?: readonly string[];
}
export interface NumberSpec {
  readonly kind: 'number';
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly rule?: Rule<number>;
}
export interface BooleanSpec {
  readonly kind: 'boolean';
  readonly default: boolean;
}
export interface EnumSpec {
  readonly kind: 'enum';
  readonly values: readonly string[];
  readonly default: string;
}
export interface ArraySpec {
  readonly kind: 'array';
  /** Strings, or mappings (each validated field by field; `unique` compares strings only). */
  readonly items: StringSpec | ObjectSpec;
  /** Absent → this default; without one the array is required. */
  readonly default?: readonly string[];
  readonly minItems?: number;
  readonly unique?: boolean;
}
export interface ObjectSpec {
  readonly kind: 'object';
  readonly fields: Readonly<Record<string, Spec>>;
  /** Absent (or null) → required error with this hint; without it, absent means "all defaults". */
  readonly requiredHint?: string;
  /** Absent or null → null (an optional listener such as `preview`). */
  readonly nullable?: boolean;
}
export type Spec = StringSpec | IntegerSpec | NumberSpec | BooleanSpec | EnumSpec | ArraySpec | ObjectSpec;

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

const weight: Rule<number> = (v) => (isValidWeight(v) ? undefined : 'must have at most 4 decimals');

// --- builders -------------------------------------------------------------------------------

const str = (def: string | undefined, rule?: Rule<string>, normalise?: (v: string) => string): StringSpec => ({
  kind: 'string',
  ...(def === undefined ? {} : { default: def }),
  ...(rule ? { rule } : {}),
  ...(normalise ? { normalise } : {}),
});
const int = (def: number, min: number, max: number): IntegerSpec => ({ kind: 'integer', default: def, min, max });
const ms = (def: number, min: number): IntegerSpec => int(def, min, MAX_TIMER_MS);
const bool = (def: boolean): BooleanSpec => ({ kind: 'boolean', default: def });
const oneOf = (values: readonly string[], def: string): EnumSpec => ({ kind: 'enum', values, default: def });
const obj = (fields: Record<string, Spec>, extra: Partial<ObjectSpec> = {}): ObjectSpec => ({ kind: 'object', fields, ...extra });
const lower = (v: string) => v.toLowerCase();
const listener = (hostDefault: string, portDefault: number): Record<string, Spec> => ({
  host: str(hostDefault, host),
  port: int(portDefault, 0, 65535),
  ...tlsFields,
});
const EVERYONE = ['0.0.0.0/0', '::/0'];
const allowFrom: ArraySpec = { kind: 'array', items: str(undefined, cidr, lower), default: EVERYONE, unique: true };
const targets: ArraySpec = { kind: 'array', items: str(undefined, targetUrl, (v) => new URL(v).origin), minItems: 1, unique: true };

// TLS termination (CONTRACT §8) on any listener. The PEM files are read, matched and checked for
// expiry by src/tls/certificates.ts when the app is built, before anything listens.
const pemFile = (what: string): StringSpec => ({ kind: 'string', rule: nonEmpty, requiredHint: `the path of a PEM ${what} file` });
const sniName: Rule<string> = (v) =>
  HOSTNAME.test(v.startsWith('*.') ? v.slice(2) : v) ? undefined : 'must be a host name, or *. followed by one';
const tlsFields: Record<string, Spec> = {
  tls: obj(
    {
      cert: pemFile('certificate (the chain after the leaf)'),
      key: pemFile('private key'),
      certificates: {
        kind: 'array',
        items: obj({
          names: { kind: 'array', items: str(undefined, sniName, lower), minItems: 1, unique: true },
          cert: pemFile('certificate'),
          key: pemFile('private key'),
        }),
        default: [],
      },
    },
    { nullable: true },
  ),
  // ALPN h2 beside http/1.1 on a TLS listener; a plain listener speaks HTTP/1.1 only (no h2c).
  http2: bool(true),
};

// --- the schema -----------------------------------------------------------------------------

export const configSchema: ObjectSpec = obj({
  listen: obj(listener('0.0.0.0', 8080)),
  admin: obj({
    ...listener('127.0.0.1', 9901),
    token: {
      kind: 'string',
      rule: adminToken,
      requiredHint: `a bearer token of at least ${MIN_TOKEN_LENGTH} characters guards the admin API (e.g. token: "\${TURNOUT_ADMIN_TOKEN}")`,
    },
    allowedHosts: { kind: 'array', items: str(undefined, allowedHost, lower), default: [], unique: true },
  }),
  preview: obj({ ...listener('0.0.0.0', 8081), allowFrom }, { nullable: true }),
  upstreams: obj(
    {
      blue: obj({ targets }, { requiredHint: 'a mapping with a non-empty "targets" list' }),
      green: obj({ targets }, { requiredHint: 'a mapping with a non-empty "targets" list' }),
    },
    { requiredHint: 'blue and green, each with a non-empty "targets" list' },
  ),
  routing: obj({
    active: oneOf(['blue', 'green'], 'blue'),
    canaryWeight: { kind: 'number', default: 0, min: 0, max: 100, rule: weight },
    sticky: obj({
      by: oneOf(['cookie', 'header', 'ip', 'none'], 'cookie'),
      cookie: str('turnout_id', isToken),
      header: str('x-user-id', isToken, lower),
    }),
    override: obj({
      enabled: bool(true),
      header: str('x-turnout-colour', isToken, lower),
      cookie: str('turnout_colour', isToken),
      allowFrom,
      secret: str('', overrideSecret),
    }),
    exposeColourHeader: bool(true),
    // CONTRACT §11: the verification period of every flip (and rollout promotion); null: none.
    // Bounds as in rollout/verification-spec.ts (the admin API's `verify`).
    verify: obj(
      {
        seconds: int(300, 1, 7 * 24 * 3600),
        intervalSeconds: { kind: 'number', default: 10, min: 0.1, max: 3600 },
        minRequests: int(50, 0, 1_000_000_000),
        maxErrorRate: { kind: 'number', default: 0.02, min: 0, max: 1 },
        maxP99Ms: { kind: 'number', default: 800, min: 1, max: 3_600_000 },
        maxP99Ratio: { kind: 'number', default: 1.5, min: 1, max: 1_000_000 },
      },
      { nullable: true },
    ),
  }),
  timeouts: obj({
    connectMs: ms(2000, 10),
    responseMs: ms(30000, 10),
    clientIdleMs: ms(60000, 100),
    // Slow clients (issue 12): body idle, stalled reader, wait for an upstream connection.
    clientBodyMs: ms(30000, 100),
    sendMs: ms(30000, 100),
    queueMs: ms(5000, 0),
  }),
  healthCheck: obj({
    path: str('/healthz', urlPath),
    intervalMs: ms(2000, 100),
    timeoutMs: ms(1000, 10),
    unhealthyAfter: int(2, 1, 100),
    healthyAfter: int(2, 1, 100),
  }),
  outlier: obj({
    consecutiveFailures: int(3, 1, 1000),
    ejectMs: ms(10000, 100),
    maxEjectionPercent: int(50, 0, 100),
  }),
  shutdown: obj({ drainSeconds: int(10, 0, 3600) }),
  state: obj({
    store: oneOf(['file', 'memory', 'redis'], 'file'),
    path: str('./data/state.json', nonEmpty),
    url: { ...str(undefined, redisUrl), optional: true },
    key: str('turnout', redisKey),
  }),
  fleet: obj({
    leaseMs: ms(5000, 300),
    convergeTimeoutMs: int(1000, 0, 60000),
    heartbeatMs: ms(1000, 100),
    replica: str('', replicaId),
  }),
  proxy: obj({
    trustedProxies: { kind: 'array', items: str(undefined, ipAddress, lower), default: [], unique: true },
    maxHeaders: int(100, 10, 10000),
    retryBudget: { kind: 'number', default: 0.2, min: 0, max: 1 },
    upgradeProtocols: { kind: 'array', items: str(undefined, upgradeToken, lower), default: ['websocket'], unique: true },
    underscoresInHeaders: bool(false),
    // Slow clients (issue 12): upstream pool size and queue, per-client concurrency (0: off).
    connectionsPerTarget: int(256, 1, 65536),
    maxQueuedPerTarget: int(1024, 0, 1_000_000),
    maxConcurrentPerClient: int(1024, 0, 1_000_000),
    requestBufferBytes: int(0, 0, 16_777_216),
  }),
  metrics: obj({ windowSeconds: int(60, 10, 3600) }),
  log: obj({ access: bool(false) }),
  // CONTRACT §7: data-plane processes under one control plane; `auto` = os.availableParallelism().
  workers: { ...int(1, 1, 1024), words: ['auto'] },
  // Issue 13: forked, built workers kept waiting to replace one that dies at once (workers/spare.ts).
  spareWorkers: int(1, 0, 16),
  // CONTRACT §9: shadow comparison (src/shadow/). percent is only the seed: PUT /api/v1/shadow changes it.
  shadow: obj({
    percent: { kind: 'number', default: 0, min: 0, max: 100, rule: weight },
    methods: { kind: 'array', items: str(undefined, isToken, (v) => v.toUpperCase()), default: ['GET', 'HEAD'], unique: true },
    maxBodyBytes: int(1_048_576, 0, 64 * 1_048_576),
    memoryBytes: int(64 * 1_048_576, 0, 4096 * 1_048_576),
    timeoutMs: ms(5000, 10),
    ignoreHeaders: { kind: 'array', items: str(undefined, isToken, lower), default: ['date'], unique: true },
    ignoreJsonPaths: { kind: 'array', items: str(undefined, jsonPath), default: [], unique: true },
    noisePercent: { kind: 'number', default: 10, min: 0, max: 100 },
  }),
  notify: obj({
    webhooks: { kind: 'array', items: str(undefined, webhookUrl), default: [], unique: true },
    secret: str(''),
  }),
});
