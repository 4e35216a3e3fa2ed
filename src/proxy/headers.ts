// Header rules for forwarding, both directions.
// Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection and are never forwarded:
// Connection and every header it names, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding,
// Upgrade; plus Trailer (RFC 9110 §6.6.2, framing of this hop) and Expect (RFC 9110 §10.1.1:
// Node's server already answered `100 Continue` for this hop; undici refuses to send it).
import type { IncomingHttpHeaders } from 'node:http';

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
  /** Peers whose x-forwarded-* headers are believed and extended. */
  readonly trustedProxies: ReadonlySet<string>;
  /** The scheme of this listener, for x-forwarded-proto. */
  readonly proto: 'http' | 'https';
}

export type OutgoingHeaders = Record<string, string | string[]>;

export interface ForwardedRequestHeaders {
  /** For undici: lower-case names, hop-by-hop removed, x-forwarded-* set. */
  readonly headers: OutgoingHeaders;
  /** The client's address: the peer, or the nearest untrusted hop when the peer is a trusted proxy. */
  readonly clientAddress: string;
}

/**
 * Extra names a Connection header lists (they are hop-by-hop too), lower-cased; undefined for
 * the common values `keep-alive` and `close`, which name no other header: no allocation then.
 */
function connectionNamed(value: string | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const v = value.length <= 10 ? value.toLowerCase() : '';
  if (v === 'keep-alive' || v === 'close') return undefined;
  let tokens: Set<string> | undefined;
  for (const token of value.split(',')) {
    const t = token.trim().toLowerCase();
    if (t.length > 0 && t !== 'keep-alive' && t !== 'close') (tokens ??= new Set()).add(t);
  }
  return tokens;
}

/**
 * The request headers to send upstream, from Node's parsed (lower-cased) headers: hop-by-hop
 * removed; x-forwarded-for set to the peer, or appended to when the peer is a trusted proxy;
 * x-forwarded-proto and -host set (kept from a trusted proxy); `forwarded` only from one.
 */
export function forwardRequestHeaders(
  incoming: IncomingHttpHeaders,
  peerAddress: string,
  policy: ForwardingPolicy,
): ForwardedRequestHeaders {
  const trusted = policy.trustedProxies.size > 0 && policy.trustedProxies.has(peerAddress);
  const named = connectionNamed(incoming.connection);
  const out: OutgoingHeaders = {};
  for (const name in incoming) {
    if (HOP_BY_HOP.has(name) || (named !== undefined && named.has(name))) continue;
    if (name.charCodeAt(0) === 0x3a /* : */) continue; // HTTP/2 pseudo-headers are not fields (RFC 9113 §8.3)
    const value = incoming[name];
    if (value === undefined) continue;
    if (name.charCodeAt(0) === 0x78 /* x */ && name.startsWith('x-forwarded-')) continue; // set below
    if (name === 'forwarded' && !trusted) continue; // RFC 7239: from an untrusted peer, an unverifiable claim
    out[name] = value;
  }
  // Node joins repeated x-forwarded-for lines with ", " (a list header), so it is one string.
  const xff = trusted ? first(incoming['x-forwarded-for']) : undefined;
  out['x-forwarded-for'] = xff === undefined ? peerAddress : `${xff}, ${peerAddress}`;
  out['x-forwarded-proto'] = (trusted ? first(incoming['x-forwarded-proto']) : undefined) ?? policy.proto;
  const host = (trusted ? first(incoming['x-forwarded-host']) : undefined) ?? incoming.host;
  if (host !== undefined) out['x-forwarded-host'] = host;
  // Other x-forwarded-* (-port, -prefix…) pass only from a trusted proxy.
  if (trusted) {
    for (const name in incoming) {
      if (name.startsWith('x-forwarded-') && !(name in out)) out[name] = incoming[name] as string | string[];
    }
  }
  return { headers: out, clientAddress: trusted ? nearestUntrusted(xff, policy.trustedProxies) ?? peerAddress : peerAddress };
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
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

/** ASCII case-insensitive comparison of a header buffer with a lower-case name, without a string. */
function bufferIs(buf: Buffer, lower: string): boolean {
  // `| 0x20` lower-cases A–Z and leaves `-` and the lower-case letters as they are; no other token
  // character (llhttp admits nothing else in a field name) maps onto a letter or `-`.
  for (let i = 0; i < lower.length; i++) if ((buf[i]! | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/** Whether a raw field name is hop-by-hop; `connection` is told apart (its value names more). */
function hopByHop(name: Buffer): 'connection' | boolean {
  switch (name.length) {
    case 2:
      return bufferIs(name, 'te');
    case 6:
      return bufferIs(name, 'expect');
    case 7:
      return bufferIs(name, 'trailer') || bufferIs(name, 'upgrade');
    case 10:
      return bufferIs(name, 'connection') ? 'connection' : bufferIs(name, 'keep-alive');
    case 16:
      return bufferIs(name, 'proxy-connection');
    case 17:
      return bufferIs(name, 'transfer-encoding');
    default:
      return false;
  }
}

/**
 * Response headers from undici's raw Buffer pairs to a flat string array for writeHead,
 * without hop-by-hop headers (RFC 9110 §7.6.1) and without those the upstream's Connection names.
 * Works on the Buffers first: hop-by-hop fields are dropped without becoming strings, and the
 * common `Connection: keep-alive` / `close` costs no string either (this runs once per response).
 */
export function forwardResponseHeaders(raw: readonly Buffer[]): string[] {
  const out: string[] = [];
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const hop = hopByHop(name);
    if (hop === 'connection') {
      const value = raw[i + 1]!;
      const plain = (value.length === 10 && bufferIs(value, 'keep-alive')) || (value.length === 5 && bufferIs(value, 'close'));
      if (!plain) {
        const more = connectionNamed(value.toString('latin1'));
        if (more !== undefined) for (const t of more) (named ??= new Set()).add(t);
      }
      continue;
    }
    if (hop) continue;
    out.push(name.toString('latin1'), raw[i + 1]!.toString('latin1'));
  }
  if (named === undefined) return out;
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) {
    if (!named.has(out[i]!.toLowerCase())) kept.push(out[i]!, out[i + 1]!);
  }
  return kept;
}
