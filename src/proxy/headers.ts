// Header rules for forwarding, both directions.
// Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection and are never forwarded:
// Connection and every header it names, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding,
// Upgrade; plus Trailer (RFC 9110 §6.6.2, framing of this hop) and Expect (RFC 9110 §10.1.1:
// Node's server already answered `100 Continue` for this hop; undici refuses to send it).

const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'te',
  'transfer-encoding',
  'upgrade',
  'trailer',
  'expect',
]);

export interface ForwardingPolicy {
  /** Header fields the proxy handles itself: removed from the request before forwarding. */
  readonly consumedRequestHeaders: ReadonlySet<string>;
  /** Peers whose x-forwarded-* headers are believed and extended. */
  readonly trustedProxies: ReadonlySet<string>;
  /** The scheme of this listener, for x-forwarded-proto. */
  readonly proto: 'http' | 'https';
}

export interface ForwardedRequestHeaders {
  /** Flat [name, value, name, value, …] for undici. */
  readonly headers: string[];
  readonly host: string | undefined;
  /** The client's address: the peer, or the nearest untrusted hop when the peer is a trusted proxy. */
  readonly clientAddress: string;
}

/** Names listed in a Connection header value, lower-cased (they are hop-by-hop too). */
function connectionTokens(value: string): Set<string> {
  const tokens = new Set<string>();
  for (const token of value.split(',')) {
    const t = token.trim().toLowerCase();
    if (t.length > 0) tokens.add(t);
  }
  return tokens;
}

/** Strips `x-forwarded-*` the peer may not set, appends the peer to x-forwarded-for, sets -proto and -host. */
export function forwardRequestHeaders(
  rawHeaders: readonly string[],
  peerAddress: string,
  policy: ForwardingPolicy,
): ForwardedRequestHeaders {
  const trusted = policy.trustedProxies.size > 0 && policy.trustedProxies.has(peerAddress);
  let named: Set<string> | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      const tokens = connectionTokens(rawHeaders[i + 1]!);
      if (named === undefined) named = tokens;
      else for (const t of tokens) named.add(t);
    }
  }

  const out: string[] = [];
  let host: string | undefined;
  let xff: string | undefined;
  let xfp: string | undefined;
  let xfh: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || policy.consumedRequestHeaders.has(lower)) continue;
    if (named !== undefined && named.has(lower)) continue;
    switch (lower) {
      case 'host':
        if (host === undefined) host = value;
        break; // re-added below, once
      case 'x-forwarded-for':
        if (trusted) xff = xff === undefined ? value : `${xff}, ${value}`;
        break;
      case 'x-forwarded-proto':
        if (trusted && xfp === undefined) xfp = value;
        break;
      case 'x-forwarded-host':
        if (trusted && xfh === undefined) xfh = value;
        break;
      case 'forwarded':
        if (trusted) out.push(name, value);
        break; // RFC 7239: from an untrusted peer it is a claim we cannot check
      default:
        out.push(name, value);
    }
  }
  if (host !== undefined) out.push('host', host);
  out.push('x-forwarded-for', xff === undefined ? peerAddress : `${xff}, ${peerAddress}`);
  out.push('x-forwarded-proto', xfp ?? policy.proto);
  if (xfh !== undefined || host !== undefined) out.push('x-forwarded-host', (xfh ?? host)!);

  return { headers: out, host, clientAddress: trusted ? nearestUntrusted(xff, policy.trustedProxies) ?? peerAddress : peerAddress };
}

/** Walks x-forwarded-for from the right, skipping trusted proxies: the first other address is the client. */
function nearestUntrusted(xff: string | undefined, trusted: ReadonlySet<string>): string | undefined {
  if (xff === undefined) return undefined;
  const hops = xff.split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!.trim();
    if (hop.length > 0 && !trusted.has(hop)) return hop;
  }
  return undefined;
}

/**
 * Response headers from undici's raw Buffer pairs to a flat string array for writeHead,
 * without hop-by-hop headers (RFC 9110 §7.6.1) and without those the upstream's Connection names.
 */
export function forwardResponseHeaders(raw: readonly Buffer[]): string[] {
  const out: string[] = [];
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') {
        const tokens = connectionTokens(raw[i + 1]!.toString('latin1'));
        if (named === undefined) named = tokens;
        else for (const t of tokens) named.add(t);
      }
      continue;
    }
    out.push(name, raw[i + 1]!.toString('latin1'));
  }
  if (named === undefined) return out;
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) {
    if (!named.has(out[i]!.toLowerCase())) kept.push(out[i]!, out[i + 1]!);
  }
  return kept;
}
