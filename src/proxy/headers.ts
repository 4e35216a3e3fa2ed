// Header rules for forwarding, both directions.
// Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection and are never forwarded:
// Connection and every header it names, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding,
// Upgrade; plus Trailer (RFC 9110 §6.6.2, framing of this hop) and Expect (RFC 9110 §10.1.1:
// Node's server already answered `100 Continue` for this hop; undici refuses to send it).
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';

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
  /**
   * Forward request header names containing `_` (nginx's `underscores_in_headers`). Off by
   * default: CGI/WSGI/Rack map `X_Forwarded_For` and `X-Forwarded-For` to one variable
   * (HTTP_X_FORWARDED_FOR), so an underscore twin would pass the spoofing rules below.
   */
  readonly underscoresInHeaders?: boolean;
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
  const underscores = policy.underscoresInHeaders === true;
  const out: OutgoingHeaders = {};
  for (const name in incoming) {
    if (HOP_BY_HOP.has(name)) continue;
    // Connection may name only this hop's headers: never Host, which a proxy generates from the
    // request target (RFC 9112 §3.2.2: from the received target URI), nor (below) the forwarding
    // headers Turnout itself sets. `Connection: host` would otherwise make undici send the
    // target's internal address as Host.
    if (named !== undefined && named.has(name) && name !== 'host') continue;
    if (!underscores && name.indexOf('_') !== -1) continue;
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

// RFC 9110 §7.2: Host = uri-host [ ":" port ] (RFC 3986 §3.2.2–3.2.3). A reg-name is unreserved,
// pct-encoded and sub-delims characters; an IP-literal is a bracketed IPv6 address or IPvFuture.
const REG_NAME = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$/;
const IP_FUTURE = /^v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+$/;
const PORT = /^[0-9]*$/;

/**
 * Whether a Host value is valid per RFC 9110 §7.2 (RFC 9112 §3.2: otherwise 400). An empty
 * Host is refused too: the grammar allows it for a target URI without authority, which an
 * origin-form request to an edge never is.
 */
export function isValidHost(value: string): boolean {
  if (value.length === 0 || value.length > 1024) return false;
  let rest: string;
  if (value.charCodeAt(0) === 0x5b /* [ */) {
    const close = value.indexOf(']');
    if (close === -1) return false;
    const literal = value.slice(1, close);
    if (isIP(literal) !== 6 && !IP_FUTURE.test(literal)) return false;
    rest = value.slice(close + 1);
    if (rest.length === 0) return true;
    return rest.charCodeAt(0) === 0x3a /* : */ && PORT.test(rest.slice(1));
  }
  const colon = value.indexOf(':');
  if (colon === -1) return REG_NAME.test(value);
  return REG_NAME.test(value.slice(0, colon)) && PORT.test(value.slice(colon + 1));
}

/** The client's address as forwardRequestHeaders computes it, without building the headers. */
export function clientAddressOf(incoming: IncomingHttpHeaders, peerAddress: string, policy: ForwardingPolicy): string {
  if (policy.trustedProxies.size === 0 || !policy.trustedProxies.has(peerAddress)) return peerAddress;
  return nearestUntrusted(first(incoming['x-forwarded-for']), policy.trustedProxies) ?? peerAddress;
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

/**
 * The same rules on undici's parsed response headers (lower-cased names, repeated fields as
 * arrays), for a controller-API dispatch that has only those (Exchange.onResponseStart, when the
 * dispatcher is not the connection gate). On its own it is cheaper than forwardResponseHeaders
 * (~0.3 against ~3–4 µs on six fields, bench/micro/handler-api.ts), but building the parsed
 * object costs more than both: through the gate Exchange skips it and forwards the raw pairs
 * (connection-gate.ts RawHeadersHandler). Repeated fields keep their order among themselves
 * (Set-Cookie) and are sent under their first position.
 */
export function forwardParsedResponseHeaders(headers: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  let named: Set<string> | undefined;
  const connection = headers.connection as string | string[] | undefined;
  if (connection !== undefined) {
    for (const value of typeof connection === 'string' ? [connection] : connection) {
      const more = connectionNamed(value);
      if (more !== undefined) for (const t of more) (named ??= new Set()).add(t);
    }
  }
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || (named !== undefined && named.has(name))) continue;
    const value = headers[name];
    if (typeof value === 'string') out.push(name, value);
    else if (value !== undefined) for (const v of value) out.push(name, v);
  }
  return out;
}
