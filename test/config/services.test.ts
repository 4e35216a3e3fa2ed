// CONTRACT §10 config: either the §2 top-level upstreams + routing (one service `default`) or
// `services:`, never both; every problem named by its field path.
import t from 'tap';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { servicesOf, statePathOfForTest } from './services-helpers.ts';

const TOKEN = 'a-token-of-20-chars!';
const pair = (n: number) => ({ blue: { targets: [`http://10.0.${n}.1:3000`] }, green: { targets: [`http://10.0.${n}.2:3000`] } });

function issuesOf(raw: unknown): string[] {
  try {
    parseConfig(raw, 'test.yaml', {});
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}

t.test('a §2 config is the one service default, matching everything, without a services field', async (t) => {
  const config = parseConfig({ admin: { token: TOKEN }, upstreams: pair(1), routing: { active: 'green' } }, 'test.yaml', {});
  t.equal(config.services, undefined, 'the config object is as before services');
  const services = servicesOf(config);
  t.equal(services.length, 1);
  t.equal(services[0]!.name, 'default');
  t.strictSame(services[0]!.match, { hosts: [], pathPrefix: '/' });
  t.equal(services[0]!.upstreams, config.upstreams);
  t.equal(services[0]!.routing.active, 'green');
  t.equal(servicesOf(config), servicesOf(config), 'the same list every time');
});

t.test('services: each gets every routing default; the first fills the single-service fields', async (t) => {
  const config = parseConfig(
    {
      admin: { token: TOKEN },
      shadow: { percent: 5 },
      services: {
        shop: { match: { hosts: ['Shop.Example.com', '*.shop.example.com'], pathPrefix: '/' }, upstreams: pair(1), routing: { active: 'green', canaryWeight: 3 } },
        api: { match: { hosts: ['api.example.com'], pathPrefix: '/v2/' }, upstreams: pair(2), shadow: { percent: 1 } },
      },
    },
    'test.yaml',
    {},
  );
  const services = servicesOf(config);
  t.same(services.map((s) => s.name), ['shop', 'api']);
  t.strictSame(services[0]!.match, { hosts: ['shop.example.com', '*.shop.example.com'], pathPrefix: '/' }, 'hosts lower-cased');
  t.equal(services[1]!.match.pathPrefix, '/v2', 'trailing slash trimmed');
  t.equal(services[0]!.routing.canaryWeight, 3);
  t.equal(services[1]!.routing.active, 'blue');
  t.equal(services[1]!.routing.sticky.cookie, 'turnout_id', 'routing defaults');
  t.equal(services[0]!.shadow.percent, 5, 'no shadow block: the top-level one');
  t.equal(services[1]!.shadow.percent, 1, 'its own shadow block');
  t.equal(config.upstreams, services[0]!.upstreams, 'upstreams: the first service');
  t.equal(config.routing, services[0]!.routing, 'routing: the first service');
  t.ok(Object.isFrozen(services[1]!.match.hosts), 'deep-frozen');
});

t.test('not both; names, hosts, prefixes and duplicates are checked, each by its path', async (t) => {
  t.same(issuesOf({ admin: { token: TOKEN }, upstreams: pair(1), routing: {}, services: { a: { upstreams: pair(2) } } }), [
    'upstreams: must not be set together with services (CONTRACT §10): move it into each service',
    'routing: must not be set together with services (CONTRACT §10): move it into each service',
  ]);
  t.same(issuesOf({ admin: { token: TOKEN }, services: {} }), ['services: must name at least one service']);
  t.same(issuesOf({ admin: { token: TOKEN }, services: [] }), ['services: must be a mapping of service names to { match, upstreams, routing }']);
  t.match(issuesOf({ admin: { token: TOKEN }, services: { 'Bad Name': { upstreams: pair(1) } } }), [/^services\["Bad Name"\]: the service name must be/]);
  t.same(issuesOf({ admin: { token: TOKEN }, services: { a: { match: { hosts: ['http://x.example'], pathPrefix: 'v2' } , upstreams: pair(1) } } }), [
    'services.a.match.hosts[0]: must be a host name, an IP address, or *. followed by a host name (no port, no scheme)',
    'services.a.match.pathPrefix: must be a path starting with "/", without spaces, "?" or "#"',
  ]);
  t.same(issuesOf({ admin: { token: TOKEN }, services: { a: { upstreams: { blue: { targets: ['nope'] } } } } }), [
    'services.a.upstreams.blue.targets[0]: must be an http(s) URL',
    'services.a.upstreams.green: required: a mapping with a non-empty "targets" list',
  ]);
  t.same(issuesOf({ admin: { token: TOKEN }, services: { a: { upstreams: pair(1) }, b: { upstreams: pair(2) } } }), [
    'services.b.match: every host with pathPrefix / is already matched by service a',
  ]);
  t.same(issuesOf({ admin: { token: TOKEN }, services: { a: { match: { hosts: ['x.example'], pathPrefix: '/v2' }, upstreams: pair(1) }, b: { match: { hosts: ['X.example'], pathPrefix: '/v2/' }, upstreams: pair(2) } } }), [
    'services.b.match.hosts[0]: x.example with pathPrefix /v2 is already matched by service a',
  ]);
  t.same(issuesOf({ admin: { token: TOKEN }, services: { a: { upstreams: pair(1), routing: { sticky: { cookie: 'same' }, override: { cookie: 'same' } }, bogus: 1 } } }), [
    'services.a.bogus: unknown field',
    'services.a.routing.override.cookie: must differ from services.a.routing.sticky.cookie ("same")',
  ]);
  t.same(issuesOf({ services: { a: { upstreams: pair(1) } } }), [
    `admin.token: required: a bearer token of at least 16 characters guards the admin API (e.g. token: "\${TURNOUT_ADMIN_TOKEN}")`,
  ], 'top-level fields are still checked');
});

t.test('state files: default keeps state.path, other services sit beside it', async (t) => {
  t.equal(statePathOfForTest('./data/state.json', 'default'), './data/state.json');
  t.equal(statePathOfForTest('./data/state.json', 'shop'), './data/state.shop.json');
  t.equal(statePathOfForTest('/var/lib/turnout/state', 'api'), '/var/lib/turnout/state.api.json');
});
