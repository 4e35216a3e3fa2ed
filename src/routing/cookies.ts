// Reads one cookie from a Cookie header without parsing the rest (RFC 6265 §5.4: pairs are
// separated by "; "). Per request, so it allocates only the value it returns.

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined || header.length === 0) return undefined;
  let start = 0;
  const n = header.length;
  while (start < n) {
    while (start < n && (header.charCodeAt(start) === 0x20 || header.charCodeAt(start) === 0x3b)) start++;
    let end = header.indexOf(';', start);
    if (end === -1) end = n;
    const eq = header.indexOf('=', start);
    if (eq !== -1 && eq < end && eq - start === name.length && header.startsWith(name, start)) {
      let value = header.slice(eq + 1, end).trim();
      if (value.length >= 2 && value.charCodeAt(0) === 0x22 && value.charCodeAt(value.length - 1) === 0x22) {
        value = value.slice(1, -1);
      }
      return value;
    }
    start = end + 1;
  }
  return undefined;
}
