// Who may do something, by client address: a list of CIDR ranges (`10.0.0.0/8`, `2001:db8::/32`,
// or a bare address for one host), matched with node:net's BlockList. Pure: no I/O, built once
// at config load, one call per check. IPv4 clients of a dual-stack listener arrive as
// `::ffff:a.b.c.d`; BlockList matches those against IPv4 ranges too.
import { BlockList, isIP } from 'node:net';

export interface AddressMatcher {
  /** True when every address matches (`0.0.0.0/0` and `::/0`): callers may skip the check. */
  readonly everyone: boolean;
  matches(address: string): boolean;
}

/** `addr/len` or `addr` → its parts; a message naming what is wrong otherwise. */
export function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | string {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return 'must be an IP address or a CIDR range (10.0.0.0/8, 2001:db8::/32)';
  const max = version === 4 ? 32 : 128;
  if (slash === -1) return { address, prefix: max, family: version === 4 ? 'ipv4' : 'ipv6' };
  const len = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(len) || Number(len) > max) return `must have a prefix length 0..${max}`;
  return { address, prefix: Number(len), family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** A matcher over the ranges; throws on an invalid one (config validation catches them first). */
export function addressMatcher(cidrs: readonly string[]): AddressMatcher {
  const list = new BlockList();
  let all4 = false;
  let all6 = false;
  for (const cidr of cidrs) {
    const parsed = parseCidr(cidr);
    if (typeof parsed === 'string') throw new Error(`${cidr}: ${parsed}`);
    if (parsed.prefix === 0) {
      if (parsed.family === 'ipv4') all4 = true;
      else all6 = true;
    }
    list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  const everyone = all4 && all6;
  return {
    everyone,
    matches(address: string): boolean {
      if (everyone) return true;
      const version = isIP(address);
      if (version === 0) return false; // "unknown", a zone id, garbage from a header: no match
      try {
        return list.check(address, version === 4 ? 'ipv4' : 'ipv6');
      } catch {
        return false;
      }
    },
  };
}
