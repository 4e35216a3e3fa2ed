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
// Per request: one bounded-cache lookup by the raw Host value (most clients repeat it) and a walk
// of a prefix trie along the path's first characters; no allocation once the Host is cached. A Host not seen yet is
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

/**
 * The path prefixes of one host tier as a character trie: a node is a prefix, its `index` the
 * rule whose prefix it is (-1: none). Walking the request path char by char finds the longest
 * prefix on a segment boundary in as many steps as that prefix has characters, however many
 * services share the host (`String.prototype.startsWith` per rule costs tens of ns each in V8).
 */
interface PrefixNode {
  index: number;
  children: Map<number, PrefixNode> | null;
}

const newNode = (): PrefixNode => ({ index: NO_MATCH, children: null });

function addPrefix(root: PrefixNode, prefix: string, index: number): void {
  let node = root;
  // The root is `/`; a prefix has no trailing `/` (config/services.ts), so it ends on a boundary.
  for (let i = 1; i < prefix.length; i++) {
    const c = prefix.charCodeAt(i);
    node.children ??= new Map();
    let next = node.children.get(c);
    if (next === undefined) node.children.set(c, (next = newNode()));
    node = next;
  }
  if (node.index === NO_MATCH) node.index = index; // the first rule wins a duplicate
}

/** The rule of the longest prefix of `url` (on a segment boundary) in this trie, or NO_MATCH. */
function longestPrefix(root: PrefixNode, url: string): number {
  let best = root.index;
  let node: PrefixNode | undefined = root;
  for (let i = 1; ; i++) {
    const c = url.charCodeAt(i); // NaN past the end
    // End of the path, or a segment or query boundary: the prefix so far matches.
    if (c !== c || c === 0x2f /* / */ || c === 0x3f /* ? */) {
      if (node.index !== NO_MATCH) best = node.index;
      if (c !== 0x2f) return best;
    }
    node = node.children?.get(c);
    if (node === undefined) return best;
  }
}

const HOST_CACHE_SIZE = 1024;

export function buildServiceMatcher(rules: readonly MatchRule[], cacheSize = HOST_CACHE_SIZE): ServiceMatcher {
  const exact = new Map<string, PrefixNode>();
  const wildcard = new Map<string, PrefixNode>(); // key: `.shop.example.com`
  const anyHost = newNode();
  let anyHostRules = 0;
  rules.forEach((rule, index) => {
    if (rule.hosts.length === 0) {
      addPrefix(anyHost, rule.pathPrefix, index);
      anyHostRules++;
    }
    for (const host of rule.hosts) {
      const [map, key] = host.startsWith('*.') ? [wildcard, host.slice(1)] : [exact, host];
      let root = map.get(key);
      if (root === undefined) map.set(key, (root = newNode()));
      addPrefix(root, rule.pathPrefix, index);
    }
  });

  const matchesEverything = rules.length === 1 && anyHostRules === 1 && anyHost.index === 0;
  const hostless = exact.size === 0 && wildcard.size === 0;
  const anyHostOnly: readonly PrefixNode[] = [anyHost];

  /** The tiers for a host, most specific first: exact, wildcards by suffix length, then any host. */
  function resolve(rawHost: string): readonly PrefixNode[] {
    const host = hostOf(rawHost);
    const out: PrefixNode[] = [];
    const own = exact.get(host);
    if (own !== undefined) out.push(own);
    // Longest suffix first: `.a.b.example.com` before `.b.example.com` before `.example.com`.
    for (let dot = host.indexOf('.'); dot !== -1; dot = host.indexOf('.', dot + 1)) {
      const tier = dot > 0 ? wildcard.get(host.slice(dot)) : undefined;
      if (tier !== undefined) out.push(tier);
    }
    if (anyHostRules > 0) out.push(anyHost);
    return out;
  }
  const cache = new LRUCache<string, readonly PrefixNode[]>({ max: cacheSize });

  function match(host: string | undefined, url: string): number {
    let tiers: readonly PrefixNode[];
    if (hostless || host === undefined) {
      tiers = anyHostOnly;
    } else {
      const cached = cache.get(host);
      if (cached !== undefined) tiers = cached;
      else cache.set(host, (tiers = resolve(host)));
    }
    for (let i = 0; i < tiers.length; i++) {
      const found = longestPrefix(tiers[i]!, url);
      if (found !== NO_MATCH) return found;
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
