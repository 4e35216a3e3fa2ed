// The config loader: file → YAML/JSON → `${VAR}` → validate with defaults → cross-field checks →
// deep-freeze (DESIGN.md "static config"). Every problem is reported at once with its field path,
// the way fastify's lib/initial-config-validation.js does; the caller's object is never mutated.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import YAML from 'yaml';
import { deepFreeze } from '../domain.ts';
import { settle } from '../schema/issues.ts';
import { checkValue } from '../schema/validate.ts';
import { expandEnv } from './expand.ts';
import { ConfigError, type ConfigIssue } from './error.ts';
import { ConfigSchema } from './schema.ts';
import { INVALID, servicesTopSchema, usesServices, validateServices } from './services.ts';
import type { TurnoutConfig } from './types.ts';

export { ConfigError, type ConfigIssue } from './error.ts';

/**
 * Validates a raw config object (as parsed from YAML/JSON), expands `${VAR}` from `env`, applies
 * defaults and returns a deep-frozen TurnoutConfig. Throws ConfigError listing every issue;
 * `source` names the file (or "demo", …) in that error.
 */
export function parseConfig(raw: unknown, source: string, env: NodeJS.ProcessEnv = process.env): TurnoutConfig {
  // CONTRACT §10: `services:` instead of the top-level upstreams + routing (config/services.ts).
  if (usesServices(raw)) return parseServicesConfig(raw, source, env, []);
  const checked = checkValue(ConfigSchema, raw, { wording: 'config', expand: (value) => expandEnv(value, env) });
  const issues: ConfigIssue[] = settle(checked.issues, ConfigSchema);
  // The result is partial when some fields were invalid; cross-field rules check what is there.
  if (checked.value !== undefined) crossCheck(checked.value as Built<TurnoutConfig>, issues);
  if (issues.length > 0) throw new ConfigError(source, issues);
  // The schema validated every field of it: this is a TurnoutConfig (types.ts is Static<> of the same schema).
  return deepFreeze(checked.value) as TurnoutConfig;
}

function parseServicesConfig(raw: Record<string, unknown> & { services: unknown }, source: string, env: NodeJS.ProcessEnv, issues: ConfigIssue[]): TurnoutConfig {
  const { services: _services, upstreams: _upstreams, routing: _routing, ...rest } = raw;
  const checked = checkValue(servicesTopSchema, rest, { wording: 'config', expand: (value) => expandEnv(value, env) });
  issues.push(...settle(checked.issues, servicesTopSchema));
  const result = checked.value as Built<TurnoutConfig> | undefined;
  const services = validateServices(raw, result === undefined ? undefined : (result.shadow as TurnoutConfig['shadow']), env, issues);
  if (result === undefined || services === INVALID) throw new ConfigError(source, issues);
  // The first service fills the single-service fields, so every part that reads one service
  // (the unprefixed admin routes, older embedders) sees it.
  const first = services[0]!;
  const config = { ...result, upstreams: first.upstreams, routing: first.routing, services };
  crossCheck({ ...config, routing: undefined }, issues);
  if (issues.length > 0) throw new ConfigError(source, issues);
  return deepFreeze(config) as TurnoutConfig;
}

/** Reads a config file (`.json` → JSON, anything else → YAML) and parses it with parseConfig. */
export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): TurnoutConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [{ path: '', message: (err as Error).message }], 'cannot read the config file', { cause: err });
  }
  return parseConfig(extname(path).toLowerCase() === '.json' ? parseJson(path, text) : parseYaml(path, text), path, env);
}

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: (err as Error).message }], 'invalid JSON', { cause: err });
  }
}

function parseYaml(file: string, text: string): unknown {
  // YAML 1.2 core schema: `yes`/`on` stay strings, duplicate keys and multiple documents are errors.
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e) => {
      const where = e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}: ` : '';
      // prettyErrors appends " at line L, column C:" and a code excerpt; keep the first sentence.
      const message = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
      return { path: '', message: `${where}${message}` };
    });
    throw new ConfigError(file, issues, 'invalid YAML');
  }
  try {
    return doc.toJS({ maxAliasCount: 100 }) as unknown; // bounded alias expansion ("billion laughs")
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: (err as Error).message }], 'invalid YAML', { cause: err });
  }
}

/** A config whose invalid fields were left out (each already has its issue). */
type Built<T> = { readonly [K in keyof T]?: T[K] extends object | null ? Built<T[K]> : T[K] };

function crossCheck(config: Built<TurnoutConfig>, issues: ConfigIssue[]): void {
  const has = (path: string) => issues.some((i) => i.path === path);
  const { state, healthCheck: hc, routing } = config;
  if (state?.store === 'redis') {
    if (state.url === undefined && !has('state.url')) issues.push({ path: 'state.url', message: 'required when state.store is redis' });
  }
  if (hc?.timeoutMs !== undefined && hc.intervalMs !== undefined && hc.timeoutMs > hc.intervalMs) {
    issues.push({ path: 'healthCheck.timeoutMs', message: `must not exceed healthCheck.intervalMs (${hc.intervalMs})` });
  }
  const { sticky, override } = routing ?? {};
  if (override?.enabled && sticky?.by === 'cookie' && sticky.cookie !== undefined && override.cookie === sticky.cookie) {
    issues.push({ path: 'routing.override.cookie', message: `must differ from routing.sticky.cookie ("${sticky.cookie}")` });
  }
  if (override?.enabled && sticky?.by === 'header' && sticky.header !== undefined && override.header === sticky.header) {
    issues.push({ path: 'routing.override.header', message: `must differ from routing.sticky.header ("${sticky.header}")` });
  }
  // Two listeners on one port fail at listen time with EADDRINUSE; say which fields clash now.
  const listeners = [['listen', config.listen], ['admin', config.admin], ['preview', config.preview]] as const;
  for (let i = 0; i < listeners.length; i++) {
    for (let j = i + 1; j < listeners.length; j++) {
      const [nameA, a] = listeners[i] as (typeof listeners)[number];
      const [nameB, b] = listeners[j] as (typeof listeners)[number];
      if (a?.port === undefined || a.host === undefined || b?.port === undefined || b.host === undefined) continue;
      if (a.port !== 0 && a.port === b.port && hostsOverlap(a.host, b.host)) {
        issues.push({ path: `${nameB}.port`, message: `${b.port} is already used by ${nameA}.port` });
      }
    }
  }
}

const WILDCARDS = new Set(['0.0.0.0', '::', '']);
function hostsOverlap(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase() || WILDCARDS.has(a) || WILDCARDS.has(b);
}

