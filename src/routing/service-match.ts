// CONTRACT §10: which service a request belongs to, from its Host and path. Built once at config
// load (as Envoy's route table and @fastify/reply-from's getUpstream: never per request); pure.
//
// Precedence: an exact host beats a wildcard host (`*.shop.example.com`: any name ending in
// `.shop.example.com`, not the bare name; a longer suffix beats a shorter one), which beats a
// service without hosts (every host); within each, the longest `pathPrefix` on a segment
// boundary wins (`/v2` matches `/v2`, `/v2/x` and `/v2?q`, not `/v2x`). A host tier whose
// prefixes all miss falls through to the next one, so `api.example.com/v2` beside a
// `*.example.com` catch-all sends `api.example.com/other` to the catch-all (as nginx falls back
// to its default server) rather than to a 404. Hosts compare case-insensitively, without the port
// (`[::1]:8080` → `::1`) or a trailing dot; paths compare as sent (case-sensitive, no decoding).
//
// Per request: one bounded-cache lookup by the raw Host value (most clients repeat it) and a few
// `startsWith` on the path; no allocation once the Host is cached. A Host not seen yet is
// resolved (a few slices) and cached; random Host values can only evict, never grow the cache.
import { LRUCache } from 'lru-cache';

export interface MatchRule {
  /** Normalised (config/services.ts): lower case, no port, no brackets, no trailing dot. Empty: every host. */
  readonly hosts: readonly string[];
  /** `/`, or a path without a trailing `/`. */
  readonly pathPrefix: string;
}

/** No service matches. */
export const NO_MATCH = -1;

export interface ServiceMatcher {
  /** The index of the matching rule, or NO_MATCH. `host`: the Host header as received. */
  match(host: string | undefined, url: string): number;
  /** A single rule matching every request: callers may skip matching altogether. */
  readonly matchesEverything: boolean;
}

interface Candidate {
  readonly index: number;
  readonly prefix: string;
  /** `/`: matches every path without a comparison. */
  readonly root: boolean;
}

const HOST_CACHE_SIZE = 1024;

export function buildServiceMatcher(rules: readonly MatchRule[], cacheSize = HOST_CACHE_SIZE): ServiceMatcher {
  const exact = new Map<string, Candidate[]>();
  const wildcard = new Map<string, Candidate[]>(); // key: `.shop.example.com`
  const anyHost: Candidate[] = [];
  rules.forEach((rule, index) => {
    const candidate: Candidate = { index, prefix: rule.pathPrefix, root: rule.pathPrefix === '/' };
    if (rule.hosts.length === 0) anyHost.push(candidate);
    for (const host of rule.hosts) {
      const [map, key] = host.startsWith('*.') ? [wildcard, host.slice(1)] : [exact, host];
      let list = map.get(key);
      if (list === undefined) map.set(key, (list = []));
      list.push(candidate);
    }
  });
  const byPrefix = (list: Candidate[]) => list.sort((a, b) => b.prefix.length - a.prefix.length || a.index - b.index);
  for (const list of exact.values()) byPrefix(list);
  for (const list of wildcard.values()) byPrefix(list);
  byPrefix(anyHost);

  const matchesEverything = rules.length === 1 && anyHost.length === 1 && anyHost[0]!.root;
  const hostless = exact.size === 0 && wildcard.size === 0;

  /** Every candidate for a host, most specific first: exact, wildcards by suffix length, then any host. */
  function resolve(rawHost: string): readonly Candidate[] {
    const host = hostOf(rawHost);
    const out: Candidate[] = [...(exact.get(host) ?? [])];
    // Longest suffix first: `.a.b.example.com` before `.b.example.com` before `.example.com`.
    for (let dot = host.indexOf('.'); dot !== -1; dot = host.indexOf('.', dot + 1)) {
      const list = wildcard.get(host.slice(dot));
      if (list !== undefined && dot > 0) out.push(...list);
    }
    out.push(...anyHost);
    return out;
  }
  const cache = new LRUCache<string, readonly Candidate[]>({ max: cacheSize });

  function match(host: string | undefined, url: string): number {
    let candidates: readonly Candidate[];
    if (hostless || host === undefined) {
      candidates = anyHost;
    } else {
      const cached = cache.get(host);
      if (cached !== undefined) candidates = cached;
      else cache.set(host, (candidates = resolve(host)));
    }
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i]!;
      if (c.root) return c.index;
      if (url.startsWith(c.prefix)) {
        const next = url.charCodeAt(c.prefix.length);
        // End of the path, or a segment or query boundary (NaN past the end).
        if (next !== next || next === 0x2f /* / */ || next === 0x3f /* ? */) return c.index;
      }
    }
    return NO_MATCH;
  }

  return { match, matchesEverything };
}

/** The host of a Host header value: lower case, no port, IPv6 without brackets, no trailing dot. */
export function hostOf(raw: string): string {
  let host = raw;
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    const end = host.indexOf(']');
    host = end === -1 ? host.slice(1) : host.slice(1, end);
  } else {
    const colon = host.indexOf(':');
    // One colon: host:port. More: an IPv6 literal without brackets (invalid in Host, kept whole).
    if (colon !== -1 && host.indexOf(':', colon + 1) === -1) host = host.slice(0, colon);
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  return host.toLowerCase();
}
