// Dot segments in a request target ("/../", "/%2e%2e/") are refused with 400 rather than
// forwarded: upstreams differ on whether they normalise them (CVE-2021-41773-style traversal).

/** True when a path segment (before the query) is "." or "..", literally or percent-encoded. */
export function hasDotSegment(url: string): boolean {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (path.indexOf('/.') === -1 && path.indexOf('%2') === -1) return false;
  for (const raw of path.split('/')) {
    if (raw.length === 0 || raw.length > 6) continue;
    const segment = raw.replace(/%2e/gi, '.');
    if (segment === '.' || segment === '..') return true;
  }
  return false;
}
