// Dot segments in a request target are refused with 400 rather than forwarded: upstreams differ
// on whether and how they normalise them (CVE-2021-41773-style traversal). A segment is a dot
// segment when, read the way some upstream reads it, it is "." or "..":
// - percent-encoded dots: `%2e%2e`, `.%2E` (RFC 3986 §2.3: `%2E` is `.`);
// - encoded separators: `..%2f`, `..%5c`. An upstream that decodes before splitting (many
//   frameworks' static-file handlers) sees `../`;
// - backslashes: `..\`. The WHATWG URL parser, which Node's `new URL(req.url, base)` uses, reads
//   `\` as `/` in http(s) URLs, and so do IIS and Windows file APIs;
// - path parameters: `..;/`, `.;x`. Tomcat and Jetty strip `;…` from a segment before
//   resolving it (CVE-2020-1938-class bypasses of a proxy's path rules).
// What passes, and why: a double-encoded `%252e%252e` is `%2e%2e` after the one decoding RFC 3986
// allows, which is not a dot segment; an upstream that decodes twice has a bug of its own (nginx
// and Envoy make the same choice). Names with dots (`/app.js`, `/...`, `/.well-known/x`) pass.

const DOT = 0x2e;
const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const PERCENT = 0x25;
const SEMICOLON = 0x3b;

/** `%2f`, `%5c` (either case) at i: an encoded separator. */
function encodedSeparator(url: string, i: number): boolean {
  const a = url.charCodeAt(i + 1);
  const b = url.charCodeAt(i + 2) | 0x20;
  return (a === 0x32 /* 2 */ && b === 0x66) /* f */ || (a === 0x35 /* 5 */ && b === 0x63) /* c */;
}

/** `%2e` (either case) at i. */
function encodedDot(url: string, i: number): boolean {
  return url.charCodeAt(i + 1) === 0x32 && (url.charCodeAt(i + 2) | 0x20) === 0x65;
}

/** True when a path segment (before the query) is "." or "..", read as described above. No allocation. */
export function hasDotSegment(url: string): boolean {
  const q = url.indexOf('?');
  const end = q === -1 ? url.length : q;
  // Fast path: without a dot or a percent sign there is no dot segment.
  const dot = url.indexOf('.');
  if ((dot === -1 || dot >= end) && url.indexOf('%') === -1) return false;
  let dots = 0;
  let other = false;
  let params = false;
  let i = 0;
  for (;;) {
    const c = i < end ? url.charCodeAt(i) : -1;
    let separator = 0;
    if (c === -1) separator = 1;
    else if (c === SLASH || c === BACKSLASH) separator = 1;
    else if (c === PERCENT && i + 2 < end && encodedSeparator(url, i)) separator = 3;
    if (separator !== 0) {
      if (!other && (dots === 1 || dots === 2)) return true;
      if (c === -1) return false;
      dots = 0;
      other = false;
      params = false;
      i += separator;
      continue;
    }
    if (params) {
      i++;
    } else if (c === DOT) {
      dots++;
      i++;
    } else if (c === PERCENT && i + 2 < end && encodedDot(url, i)) {
      dots++;
      i += 3;
    } else if (c === SEMICOLON) {
      params = true;
      i++;
    } else {
      other = true;
      i++;
    }
  }
}
