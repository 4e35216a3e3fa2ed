// CONTRACT §10: many blue/green pairs behind one edge. A config has either the §2 top-level
// `upstreams` + `routing` (one service, `default`, matching every request: every config written
// before services keeps working unchanged) or a `services:` mapping, never both. Either form is
// normalised here into one list of ServiceConfig, the only shape the rest of the code reads
// (servicesOf). The per-service fields reuse the top-level TypeBox schemas of schema.ts, so a
// service's `routing` has every field of §2's `routing`, with the same defaults and messages.
//
// Kept apart from schema.ts so the field tree there stays the §2 document (docs and the example
// are checked against it) and a conversion of the schema touches this file in one place.
import { isIP } from 'node:net';
import { Type } from 'typebox';
import { childPath } from '../schema/path.ts';
import { settle } from '../schema/issues.ts';
import { defineNormaliser, defineRule } from '../schema/rules.ts';
import { check, checkValue } from '../schema/validate.ts';
import type { ConfigIssue } from './error.ts';
import { expandEnv } from './expand.ts';
import { ConfigSchema, RoutingSchema, ShadowSchema, UpstreamsSchema, type Rule } from './schema.ts';
import type { RoutingConfig, ShadowConfig, TurnoutConfig, UpstreamConfig } from './types.ts';

/** A result with issues (they are in the caller's list). */
export const INVALID: unique symbol = Symbol('invalid');

/** The service of a §2 config (and of every config written before services). */
export const DEFAULT_SERVICE_NAME = 'default';

/** Services per config: each is a label value, a Redis key and a URL segment, so the set stays bounded. */
export const MAX_SERVICES = 256;

/**
 * A service name: a URL segment (`/api/v1/services/{name}`), a Redis key part and a Prometheus
 * label value, so only characters that need no escaping in any of them.
 */
export const SERVICE_NAME = /^[a-z0-9](?:[a-z0-9_-]{0,62})$/;

export interface ServiceMatchConfig {
  /**
   * Lower-case host names without port or trailing dot (IPv6 literals without brackets); `*.` +
   * a name matches any name ending in `.` + that name (not the bare name). Empty: every host.
   */
  readonly hosts: readonly string[];
  /** Starts with `/`, no trailing `/` (except `/` itself); matched on segment boundaries. */
  readonly pathPrefix: string;
}

export interface ServiceConfig {
  readonly name: string;
  readonly match: ServiceMatchConfig;
  readonly upstreams: { readonly blue: UpstreamConfig; readonly green: UpstreamConfig };
  readonly routing: RoutingConfig;
  /** The service's own shadow settings; absent in the file: the top-level `shadow`. */
  readonly shadow: ShadowConfig;
}

const MATCH_ALL: ServiceMatchConfig = Object.freeze({ hosts: Object.freeze([]) as readonly string[], pathPrefix: '/' });

/**
 * Every service of a config, in config order (the first one is what the single-service parts,
 * the unprefixed admin routes, read). A §2 config (or a hand-built one without `services`) is the
 * one service `default` matching every request.
 */
export function servicesOf(config: TurnoutConfig): readonly ServiceConfig[] {
  if (config.services !== undefined && config.services.length > 0) return config.services;
  let list = defaults.get(config);
  if (list === undefined) {
    const service: ServiceConfig = Object.freeze({
      name: DEFAULT_SERVICE_NAME,
      match: MATCH_ALL,
      upstreams: config.upstreams,
      routing: config.routing,
      shadow: config.shadow ?? SHADOW_FALLBACK,
    });
    list = Object.freeze([service]);
    defaults.set(config, list);
  }
  return list;
}

const defaults = new WeakMap<TurnoutConfig, readonly ServiceConfig[]>();

// --- validation ------------------------------------------------------------------------------

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** `shop.example.com`, `*.shop.example.com`, `10.0.0.1`, `[::1]` or `::1`; compared lower-case. */
const serviceHost: Rule<string> = (v) => {
  const h = normaliseHost(v);
  if (h.startsWith('*.')) return HOSTNAME.test(h.slice(2)) ? undefined : 'must be a host name, or *. followed by one';
  return HOSTNAME.test(h) || isIP(h) !== 0 ? undefined : 'must be a host name, an IP address, or *. followed by a host name (no port, no scheme)';
};

/** Lower case, IPv6 brackets and a trailing dot (the FQDN form) removed. */
export function normaliseHost(v: string): string {
  let h = v.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

const pathPrefix: Rule<string> = (v) => {
  if (!/^\/[^\s?#]*$/.test(v)) return 'must be a path starting with "/", without spaces, "?" or "#"';
  if (v.split('/').some((s) => s === '.' || s === '..')) return 'must not contain "." or ".." segments';
  return undefined;
};
/** `/v2/` and `/v2` are the same prefix: it is matched on segment boundaries. */
const trimSlash = (v: string) => (v.length > 1 ? v.replace(/\/+$/, '') || '/' : v);

const serviceSchema = Type.Object(
  {
    match: Type.Object(
      {
        hosts: Type.Array(Type.String({ ...defineRule('config.serviceHost', serviceHost), ...defineNormaliser('config.serviceHost', normaliseHost) }), { default: [], 'x-unique': true }),
        pathPrefix: Type.String({ default: '/', ...defineRule('config.pathPrefix', pathPrefix), ...defineNormaliser('config.pathPrefix', trimSlash) }),
      },
      { additionalProperties: false, default: {} },
    ),
    upstreams: UpstreamsSchema,
    routing: RoutingSchema,
    // Absent or null: the top-level shadow.
    shadow: Type.Union([ShadowSchema, Type.Null()], { default: null }),
  },
  { additionalProperties: false },
);

/** The top-level tree of a `services:` config: §2's without `upstreams` (each service has its own). */
const { upstreams: _upstreams, ...topFields } = ConfigSchema.properties;
export const servicesTopSchema = Type.Object(topFields, { additionalProperties: false, default: {} });

/** True when a raw (parsed) config uses the `services:` form. */
export function usesServices(raw: unknown): raw is Record<string, unknown> & { services: unknown } {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) && Object.hasOwn(raw, 'services');
}

function path(name: string): string {
  return childPath('services', name);
}

/**
 * Validates the `services:` mapping of a raw config (after the top level was validated with
 * servicesTopSchema): every issue is pushed with its field path; returns the services, or INVALID.
 * `shadow`: the top-level shadow config, for services without their own.
 */
export function validateServices(raw: Record<string, unknown>, shadow: ShadowConfig | undefined, env: NodeJS.ProcessEnv, issues: ConfigIssue[]): ServiceConfig[] | typeof INVALID {
  for (const field of ['upstreams', 'routing'] as const) {
    if (Object.hasOwn(raw, field)) {
      issues.push({ path: field, message: 'must not be set together with services (CONTRACT §10): move it into each service' });
    }
  }
  const value = raw.services;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    issues.push({ path: 'services', message: 'must be a mapping of service names to { match, upstreams, routing }' });
    return INVALID;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) {
    issues.push({ path: 'services', message: 'must name at least one service' });
    return INVALID;
  }
  if (entries.length > MAX_SERVICES) {
    issues.push({ path: 'services', message: `at most ${MAX_SERVICES} services, got ${entries.length}` });
    return INVALID;
  }
  const before = issues.length;
  const services: ServiceConfig[] = [];
  for (const [name, spec] of entries) {
    const at = path(name);
    if (!SERVICE_NAME.test(name)) {
      issues.push({ path: at, message: 'the service name must be 1..63 characters of a-z 0-9 _ -, starting with a letter or digit' });
      continue;
    }
    if (spec === undefined || spec === null) {
      issues.push({ path: `${at}.upstreams`, message: 'required: blue and green, each with a non-empty "targets" list' });
      continue;
    }
    const checked = checkValue(serviceSchema, spec, { wording: 'config', root: at, expand: (v) => expandEnv(v, env) });
    issues.push(...settle(checked.issues, serviceSchema));
    const result = checked.value;
    if (result === undefined) continue;
    const s = result as { match?: ServiceMatchConfig; upstreams?: ServiceConfig['upstreams']; routing?: RoutingConfig; shadow?: ShadowConfig | null };
    if (s.routing !== undefined) crossCheckRouting(s.routing, `${at}.routing`, issues);
    if (s.match === undefined || s.upstreams?.blue === undefined || s.upstreams.green === undefined || s.routing === undefined) continue;
    services.push({ name, match: s.match, upstreams: s.upstreams, routing: s.routing, shadow: s.shadow ?? shadow ?? SHADOW_FALLBACK });
  }
  duplicateMatches(services, issues);
  return issues.length > before ? INVALID : services;
}

/** Two services with the same host and prefix would make one unreachable: name both. */
function duplicateMatches(services: readonly ServiceConfig[], issues: ConfigIssue[]): void {
  const seen = new Map<string, string>();
  for (const s of services) {
    const hosts = s.match.hosts.length === 0 ? ['*'] : s.match.hosts;
    hosts.forEach((host, i) => {
      const key = `${host} ${s.match.pathPrefix}`;
      const first = seen.get(key);
      const field = s.match.hosts.length === 0 ? `${path(s.name)}.match` : `${path(s.name)}.match.hosts[${i}]`;
      const what = host === '*' ? 'every host' : host;
      if (first !== undefined) issues.push({ path: field, message: `${what} with pathPrefix ${s.match.pathPrefix} is already matched by service ${first}` });
      else seen.set(key, s.name);
    });
  }
}

/** The cross-field rules load.ts applies to the top-level routing, for a service's own. */
function crossCheckRouting(routing: Partial<RoutingConfig>, at: string, issues: ConfigIssue[]): void {
  const { sticky, override } = routing;
  if (override?.enabled && sticky?.by === 'cookie' && sticky.cookie !== undefined && override.cookie === sticky.cookie) {
    issues.push({ path: `${at}.override.cookie`, message: `must differ from ${at}.sticky.cookie ("${sticky.cookie}")` });
  }
  if (override?.enabled && sticky?.by === 'header' && sticky.header !== undefined && override.header === sticky.header) {
    issues.push({ path: `${at}.override.header`, message: `must differ from ${at}.sticky.header ("${sticky.header}")` });
  }
}

// The schema's shadow defaults (what a hand-built config without `shadow` gets).
const shadowDefaults = check(ShadowSchema, undefined, { wording: 'config' });
const SHADOW_FALLBACK: ShadowConfig = Object.freeze((shadowDefaults.ok ? shadowDefaults.value : {}) as ShadowConfig);
