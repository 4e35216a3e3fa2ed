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
  readonly items: StringSpec;
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

const nonEmpty: Rule<string> = (v) => (v.length > 0 ? undefined : 'must not be empty');

export const MIN_TOKEN_LENGTH = 16;
const adminToken: Rule<string> = (v) =>
  v.length >= MIN_TOKEN_LENGTH
    ? undefined
    : `must be at least ${MIN_TOKEN_LENGTH} characters (got ${v.length}): it guards the admin API, which can move all traffic`;

const redisUrl: Rule<string> = (v) => (/^rediss?:\/\/[^\s]+$/.test(v) ? undefined : 'must be a redis:// or rediss:// URL');

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
});
const targets: ArraySpec = { kind: 'array', items: str(undefined, targetUrl, (v) => new URL(v).origin), minItems: 1, unique: true };

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
  }),
  preview: obj(listener('0.0.0.0', 8081), { nullable: true }),
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
    }),
    exposeColourHeader: bool(true),
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
  }),
  shutdown: obj({ drainSeconds: int(10, 0, 3600) }),
  state: obj({
    store: oneOf(['file', 'memory', 'redis'], 'file'),
    path: str('./data/state.json', nonEmpty),
    url: { ...str(undefined, redisUrl), optional: true },
  }),
  proxy: obj({
    trustedProxies: { kind: 'array', items: str(undefined, ipAddress, lower), default: [], unique: true },
    maxHeaders: int(100, 10, 10000),
    retryBudget: { kind: 'number', default: 0.2, min: 0, max: 1 },
    // Slow clients (issue 12): upstream pool size and queue, per-client concurrency (0: off).
    connectionsPerTarget: int(256, 1, 65536),
    maxQueuedPerTarget: int(1024, 0, 1_000_000),
    maxConcurrentPerClient: int(1024, 0, 1_000_000),
    requestBufferBytes: int(0, 0, 16_777_216),
  }),
  metrics: obj({ windowSeconds: int(60, 10, 3600) }),
  notify: obj({
    webhooks: { kind: 'array', items: str(undefined, webhookUrl), default: [], unique: true },
    secret: str(''),
  }),
});
