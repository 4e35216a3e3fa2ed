// A Host allow-list for the admin listener, against DNS rebinding (issue 12, item 7): a web page
// on evil.example can make its own name resolve to 127.0.0.1, and then read the public admin
// routes (/metrics, the dashboard, /readyz) from the victim's browser, same-origin. Such a
// request always carries the attacker's name in Host, so the admin listener answers only Hosts it
// knows: any IP literal (a rebinding page cannot use one: its origin is its name), `localhost`
// and `*.localhost` (RFC 6761 §6.3: always loopback), the configured admin.host, and the names
// in admin.allowedHosts (`name`, `*.domain` for any name under it, `*` to turn the check off).
// Vite's dev server, webpack-dev-server and Jupyter guard the same way.
import { isIP } from 'node:net';

/** The host name of a Host value, lower-cased, without port, brackets or a trailing dot. */
export function hostName(value: string): string {
  let name: string;
  if (value.charCodeAt(0) === 0x5b /* [ */) {
    const close = value.indexOf(']');
    name = close === -1 ? value : value.slice(1, close);
  } else {
    const colon = value.indexOf(':');
    name = colon === -1 ? value : value.slice(0, colon);
  }
  name = name.toLowerCase();
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/** A predicate over Host header values (undefined: no Host, as from an HTTP/1.0 tool, not a browser). */
export function hostAllowList(options: { allowed: readonly string[]; adminHost: string }): (host: string | undefined) => boolean {
  const exact = new Set<string>(['localhost']);
  const suffixes = ['.localhost'];
  let any = false;
  const admin = hostName(options.adminHost);
  if (admin.length > 0 && isIP(admin) === 0) exact.add(admin);
  for (const entry of options.allowed) {
    const e = entry.toLowerCase();
    if (e === '*') any = true;
    else if (e.startsWith('*.')) suffixes.push(e.slice(1));
    else exact.add(hostName(e));
  }
  return (host) => {
    if (any || host === undefined) return true;
    const name = hostName(host);
    if (isIP(name) !== 0 || exact.has(name)) return true;
    for (const suffix of suffixes) if (name.endsWith(suffix) && name.length > suffix.length) return true;
    return false;
  };
}
