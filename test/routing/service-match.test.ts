// CONTRACT §10 matching precedence, by table: exact host beats wildcard beats any host; the
// longest pathPrefix on a segment boundary wins; hosts case-insensitive, port ignored.
import t from 'tap';
import { buildServiceMatcher, hostOf, NO_MATCH, type MatchRule } from '../../src/routing/service-match.ts';

const rules: (MatchRule & { name: string })[] = [
  { name: 'shop', hosts: ['shop.example.com', '*.shop.example.com'], pathPrefix: '/' },
  { name: 'shop-api', hosts: ['shop.example.com'], pathPrefix: '/api' },
  { name: 'api-v2', hosts: ['api.example.com'], pathPrefix: '/v2' },
  { name: 'api-v2-admin', hosts: ['api.example.com'], pathPrefix: '/v2/admin' },
  { name: 'wild', hosts: ['*.example.com'], pathPrefix: '/' },
  { name: 'deep-wild', hosts: ['*.eu.example.com'], pathPrefix: '/' },
  { name: 'ip', hosts: ['10.0.0.1', '::1'], pathPrefix: '/ip' },
  { name: 'static', hosts: [], pathPrefix: '/static' },
];
const matcher = buildServiceMatcher(rules);
const names = rules.map((r) => r.name);
const match = (host: string | undefined, url: string) => {
  const i = matcher.match(host, url);
  return i === NO_MATCH ? null : names[i];
};

const table: [string | undefined, string, string | null, string][] = [
  ['shop.example.com', '/', 'shop', 'exact host, root prefix'],
  ['shop.example.com', '/cart', 'shop', 'root prefix matches every path'],
  ['shop.example.com', '/api', 'shop-api', 'longest prefix: the whole path'],
  ['shop.example.com', '/api/orders', 'shop-api', 'longest prefix: a segment below'],
  ['shop.example.com', '/api?x=1', 'shop-api', 'a query ends the segment'],
  ['shop.example.com', '/apix', 'shop', 'not on a segment boundary'],
  ['SHOP.Example.COM', '/api', 'shop-api', 'host case-insensitive'],
  ['shop.example.com:8080', '/api', 'shop-api', 'port ignored'],
  ['shop.example.com.', '/', 'shop', 'trailing dot ignored'],
  ['a.shop.example.com', '/api', 'shop', 'wildcard of shop beats *.example.com (longer suffix); its / wins'],
  ['x.y.shop.example.com', '/', 'shop', 'wildcard matches several labels'],
  ['api.example.com', '/v2', 'api-v2', 'exact host beats the wildcard'],
  ['api.example.com', '/v2/admin/users', 'api-v2-admin', 'longest prefix among exact'],
  ['api.example.com', '/v2x', 'wild', 'exact host, no prefix fits: falls through to the wildcard'],
  ['api.example.com', '/v1', 'wild', 'falls through to the wildcard'],
  ['example.com', '/', null, 'the bare name is not under *.example.com; no any-host rule for /'],
  ['example.com', '/static/app.js', 'static', 'any-host rule by prefix'],
  ['other.org', '/static', 'static', 'any host'],
  ['other.org', '/', null, 'no match'],
  ['a.eu.example.com', '/', 'deep-wild', 'the longer wildcard suffix wins'],
  ['eu.example.com', '/', 'wild', 'bare name of the deeper wildcard: the shorter one'],
  ['10.0.0.1:80', '/ip/x', 'ip', 'IPv4 literal with port'],
  ['[::1]:8080', '/ip', 'ip', 'IPv6 literal with port'],
  ['[::1]', '/ip', 'ip', 'IPv6 literal without port'],
  [undefined, '/static', 'static', 'no Host: only any-host rules'],
  [undefined, '/', null, 'no Host, no any-host rule for /'],
];

t.test('precedence table', async (t) => {
  for (const [host, url, expected, why] of table) t.equal(match(host, url), expected, `${host} ${url}: ${why}`);
  // Cached answers are the same as the first ones.
  for (const [host, url, expected, why] of table) t.equal(match(host, url), expected, `again: ${why}`);
});

t.test('a single rule matching everything is flagged (the dispatcher skips matching)', async (t) => {
  t.equal(buildServiceMatcher([{ hosts: [], pathPrefix: '/' }]).matchesEverything, true);
  t.equal(buildServiceMatcher([{ hosts: ['a.example'], pathPrefix: '/' }]).matchesEverything, false);
  t.equal(buildServiceMatcher([{ hosts: [], pathPrefix: '/v2' }]).matchesEverything, false);
});

t.test('prefix-only rules never look at the host', async (t) => {
  const m = buildServiceMatcher([{ hosts: [], pathPrefix: '/' }, { hosts: [], pathPrefix: '/v2' }]);
  t.equal(m.match('anything', '/v2/x'), 1);
  t.equal(m.match('anything', '/v22'), 0);
  t.equal(m.match(undefined, '/'), 0);
});

t.test('random Host values stay within the bounded cache and still match', async (t) => {
  const m = buildServiceMatcher([{ hosts: ['*.example.com'], pathPrefix: '/' }], 8);
  for (let i = 0; i < 100; i++) t.equal(m.match(`h${i}.example.com`, '/'), 0);
  t.equal(m.match('h1.example.org', '/'), NO_MATCH);
});

t.test('hostOf', async (t) => {
  const cases: [string, string][] = [
    ['Shop.Example.com:443', 'shop.example.com'],
    ['[2001:DB8::1]:8443', '2001:db8::1'],
    ['[::1]', '::1'],
    ['::1', '::1'],
    ['localhost.', 'localhost'],
    ['a:b', 'a'],
  ];
  for (const [raw, want] of cases) t.equal(hostOf(raw), want, raw);
});
