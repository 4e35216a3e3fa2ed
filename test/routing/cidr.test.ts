// CIDR parsing and matching by table (pure).
import t from 'tap';
import { addressMatcher, parseCidr } from '../../src/routing/cidr.ts';

t.test('parseCidr', async (t) => {
  const table: [string, ReturnType<typeof parseCidr>][] = [
    ['10.0.0.0/8', { address: '10.0.0.0', prefix: 8, family: 'ipv4' }],
    ['10.1.2.3', { address: '10.1.2.3', prefix: 32, family: 'ipv4' }],
    ['0.0.0.0/0', { address: '0.0.0.0', prefix: 0, family: 'ipv4' }],
    ['2001:db8::/32', { address: '2001:db8::', prefix: 32, family: 'ipv6' }],
    ['::1', { address: '::1', prefix: 128, family: 'ipv6' }],
    ['10.0.0.0/33', 'must have a prefix length 0..32'],
    ['::/129', 'must have a prefix length 0..128'],
    ['10.0.0.0/', 'must have a prefix length 0..32'],
    ['10.0.0.0/8x', 'must have a prefix length 0..32'],
    ['example.com/8', 'must be an IP address or a CIDR range (10.0.0.0/8, 2001:db8::/32)'],
    ['', 'must be an IP address or a CIDR range (10.0.0.0/8, 2001:db8::/32)'],
  ];
  for (const [text, want] of table) t.same(parseCidr(text), want, text);
});

t.test('addressMatcher', async (t) => {
  const table: [string[], string, boolean][] = [
    [['10.0.0.0/8'], '10.255.1.2', true],
    [['10.0.0.0/8'], '11.0.0.1', false],
    [['10.0.0.0/8'], '::ffff:10.1.2.3', true],
    [['127.0.0.1'], '127.0.0.1', true],
    [['127.0.0.1'], '127.0.0.2', false],
    [['192.168.1.0/24', '2001:db8::/32'], '2001:db8:1::5', true],
    [['192.168.1.0/24', '2001:db8::/32'], '2001:db9::5', false],
    [['192.168.1.0/24', '2001:db8::/32'], '192.168.1.200', true],
    [['::1'], '::1', true],
    [['::1'], '127.0.0.1', false],
    [['0.0.0.0/0'], '203.0.113.9', true],
    [['0.0.0.0/0'], '2001:db8::1', false],
    [['0.0.0.0/0', '::/0'], '2001:db8::1', true],
    [['10.0.0.0/8'], 'unknown', false],
    [['10.0.0.0/8'], '', false],
    [['10.0.0.0/8'], '10.0.0.1, 10.0.0.2', false],
    [[], '127.0.0.1', false],
  ];
  for (const [cidrs, address, want] of table) t.equal(addressMatcher(cidrs).matches(address), want, `${cidrs.join(',')} ∋ ${address}`);
  t.ok(addressMatcher(['0.0.0.0/0', '::/0']).everyone);
  t.notOk(addressMatcher(['0.0.0.0/0']).everyone);
  t.throws(() => addressMatcher(['10.0.0.0/99']), /10\.0\.0\.0\/99: must have a prefix length/);
});
