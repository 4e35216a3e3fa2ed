// CONTRACT §10 on the admin API: two services built from real parts (their own StateManager,
// pools, Telemetry, rollout and verification controllers, shadow), one admin server. Each
// service's routes under /api/v1/services/{name}/… move only its own state and version; events
// name the service; the unprefixed routes answer 400 naming `service` with two services and act
// on the only one with one; an unknown name is a 404 with a code; bad bodies are 400 naming the
// field, and change nothing.
import t from 'tap';
import { manualClock } from '../state/store-conformance.ts';
import { startServicesAdmin, type ServicesAdmin } from '../helpers/services-admin.ts';

const SHOP = '/api/v1/services/shop';
const API = '/api/v1/services/api';

async function twoServices(t: Parameters<typeof startServicesAdmin>[0], deps = {}) {
  const clock = manualClock();
  const admin = await startServicesAdmin(
    t,
    [
      { name: 'shop', hosts: ['shop.example.com', '*.shop.example.com'], pathPrefix: '/' },
      { name: 'api', hosts: ['api.example.com'], pathPrefix: '/v2' },
    ],
    { clock, deps },
  );
  return { admin, clock };
}

const versions = (admin: ServicesAdmin) => ({ shop: admin.services.shop!.state.state.version, api: admin.services.api!.state.state.version });

t.test('GET /api/v1/services lists every service in config order with its match and state', async (t) => {
  const { admin } = await twoServices(t);
  const res = await admin.call('GET', '/api/v1/services');
  t.equal(res.status, 200);
  t.same(res.json, {
    services: [
      {
        name: 'shop',
        match: { hosts: ['shop.example.com', '*.shop.example.com'], pathPrefix: '/' },
        version: 0,
        active: 'blue',
        canary: { colour: 'green', weight: 0 },
        split: { blue: 100, green: 0 },
        updatedAt: '2026-01-01T00:00:00.000Z',
        rollout: null,
        verification: null,
        idle: { colour: 'green', since: null, free: false },
      },
      {
        name: 'api',
        match: { hosts: ['api.example.com'], pathPrefix: '/v2' },
        version: 0,
        active: 'blue',
        canary: { colour: 'green', weight: 0 },
        split: { blue: 100, green: 0 },
        updatedAt: '2026-01-01T00:00:00.000Z',
        rollout: null,
        verification: null,
        idle: { colour: 'green', since: null, free: false },
      },
    ],
  });
  const one = await admin.call('GET', '/api/v1/services/api');
  t.equal(one.status, 200);
  t.equal(one.json.name, 'api');
  t.same(one.json.match, { hosts: ['api.example.com'], pathPrefix: '/v2' });
  t.equal((await admin.call('GET', '/api/v1/services', { auth: false })).status, 401, 'behind the token');
});

t.test("each service's flip and canary move only its own state and version", async (t) => {
  const { admin, clock } = await twoServices(t);
  clock.advance(1000);
  const flip = await admin.call('POST', `${SHOP}/flip`, { body: { reason: 'shop release 7' }, headers: { 'x-turnout-actor': 'alice' } });
  t.equal(flip.status, 200);
  t.match(flip.json, { version: 1, active: 'green', canary: { colour: 'blue', weight: 0 } });
  t.equal(flip.headers.get('etag'), '"1"');
  t.same(versions(admin), { shop: 1, api: 0 }, 'the other service did not move');
  t.match(admin.services.api!.state.snapshot, { version: 0, active: 'blue', weight: 0 }, "api's data plane snapshot is unchanged");

  clock.advance(1000);
  const canary = await admin.call('PUT', `${API}/canary`, { body: { weight: 12.5 } });
  t.equal(canary.status, 200);
  t.match(canary.json, { version: 1, active: 'blue', canary: { colour: 'green', weight: 12.5 }, split: { blue: 87.5, green: 12.5 } });
  t.same(versions(admin), { shop: 1, api: 1 });
  t.match(admin.services.shop!.state.snapshot, { active: 'green', weight: 0 }, "shop's weight is untouched");

  t.match((await admin.call('GET', `${SHOP}/state`)).json, { version: 1, active: 'green', canary: { weight: 0 } });
  t.match((await admin.call('GET', `${API}/state`)).json, { version: 1, active: 'blue', canary: { weight: 12.5 } });

  const rollback = await admin.call('POST', `${API}/rollback`);
  t.equal(rollback.status, 200);
  t.match(rollback.json, { version: 2, active: 'blue', canary: { weight: 0 } });
  t.equal((await admin.call('POST', `${API}/rollback`)).status, 409, "api has no flip to undo (shop's flip is not api's)");
  t.same(versions(admin), { shop: 1, api: 2 });

  // Shadow percent, per service.
  const shadow = await admin.call('PUT', `${SHOP}/shadow`, { body: { percent: 5 } });
  t.equal(shadow.status, 200);
  t.equal(shadow.json.percent, 5);
  t.equal((await admin.call('GET', `${API}/shadow`)).json.percent, 0, "api's shadow is its own");
  t.same(versions(admin), { shop: 2, api: 2 });
});

t.test('events name the service, and each service has its own log', async (t) => {
  const { admin, clock } = await twoServices(t);
  clock.advance(1000);
  await admin.call('POST', `${SHOP}/flip`);
  clock.advance(1000);
  await admin.call('PUT', `${API}/canary`, { body: { weight: 3, reason: 'api canary' } });
  clock.advance(1000);
  await admin.call('PUT', `${SHOP}/canary`, { body: { weight: 1 } });

  const shop = await admin.call('GET', `${SHOP}/events`);
  t.equal(shop.status, 200);
  t.same(shop.json, [
    { at: '2026-01-01T00:00:03.000Z', version: 2, action: 'weight', from: { active: 'green', weight: 0 }, to: { active: 'green', weight: 1 }, actor: 'admin', reason: '', service: 'shop' },
    { at: '2026-01-01T00:00:01.000Z', version: 1, action: 'flip', from: { active: 'blue', weight: 0 }, to: { active: 'green', weight: 0 }, actor: 'admin', reason: '', service: 'shop' },
  ]);
  const api = await admin.call('GET', `${API}/events?limit=5`);
  t.same(api.json, [
    { at: '2026-01-01T00:00:02.000Z', version: 1, action: 'weight', from: { active: 'blue', weight: 0 }, to: { active: 'blue', weight: 3 }, actor: 'admin', reason: 'api canary', service: 'api' },
  ]);
  t.same((await admin.call('GET', `${SHOP}/events?limit=1`)).json.map((e: { version: number }) => e.version), [2]);
  const bad = await admin.call('GET', `${SHOP}/events?limit=0`);
  t.equal(bad.status, 400);
  t.match(bad.json.message, /querystring\.limit/);
});

t.test('If-Match is per service: each has its own version counter', async (t) => {
  const { admin } = await twoServices(t);
  await admin.call('POST', `${SHOP}/flip`);
  await admin.call('POST', `${SHOP}/flip`);
  t.same(versions(admin), { shop: 2, api: 0 });
  const stale = await admin.call('PUT', `${API}/canary`, { body: { weight: 5 }, headers: { 'if-match': '"2"' } });
  t.equal(stale.status, 412, "shop's version is not api's");
  t.equal(stale.json.code, 'TURNOUT_ERR_PRECONDITION_FAILED');
  t.equal((await admin.call('PUT', `${API}/canary`, { body: { weight: 5 }, headers: { 'if-match': '"0"' } })).status, 200);
  t.equal((await admin.call('POST', `${SHOP}/rollback`, { headers: { 'if-match': '"1"' } })).status, 412);
  t.equal((await admin.call('POST', `${SHOP}/rollback`, { headers: { 'if-match': '"2"' } })).status, 200);
  t.same(versions(admin), { shop: 3, api: 1 });
});

t.test('with two services the unprefixed routes answer 400 naming `service`, and change nothing', async (t) => {
  const { admin } = await twoServices(t);
  const routes: [string, string, unknown][] = [
    ['GET', '/api/v1/state', undefined],
    ['PUT', '/api/v1/canary', { weight: 5 }],
    ['PUT', '/api/v1/canary', { weight: 'x' }],
    ['POST', '/api/v1/flip', undefined],
    ['POST', '/api/v1/rollback', undefined],
    ['GET', '/api/v1/events', undefined],
    ['GET', '/api/v1/upstreams', undefined],
    ['GET', '/api/v1/verification', undefined],
    ['POST', '/api/v1/verification/revert', undefined],
    ['POST', '/api/v1/rollouts', { steps: [{ weight: 100, holdSeconds: 1 }] }],
    ['GET', '/api/v1/rollouts/current', undefined],
    ['POST', '/api/v1/rollouts/current/abort', undefined],
    ['GET', '/api/v1/shadow', undefined],
    ['PUT', '/api/v1/shadow', { percent: 5 }],
    ['POST', '/api/v1/override-links', { colour: 'green' }],
  ];
  for (const [method, path, body] of routes) {
    const res = await admin.call(method, path, { body });
    t.equal(res.status, 400, `${method} ${path}`);
    t.equal(res.json.code, 'TURNOUT_ERR_BAD_REQUEST');
    t.match(res.json.message, /^service: this server has 2 services \(shop, api\); name one: \/api\/v1\/services\/\{service\}\//, `${method} ${path}: names service`);
  }
  t.same(versions(admin), { shop: 0, api: 0 }, 'nothing changed');
  t.equal((await admin.call('GET', '/api/v1/state', { auth: false })).status, 401, 'the token is checked first');
  // Per-process routes stay unprefixed.
  const fleet = await admin.call('GET', '/api/v1/fleet');
  t.equal(fleet.status, 200);
  t.same(fleet.json.versions, { shop: 0, api: 0 }, 'the fleet answer gives each service its version');
  t.equal((await admin.call('GET', '/healthz', { auth: false })).status, 200);
  t.equal((await admin.call('GET', '/readyz', { auth: false })).status, 200);
});

t.test('an unknown service name is a 404 with a code, before its body is read', async (t) => {
  const { admin } = await twoServices(t);
  for (const [method, path, body] of [
    ['GET', '/api/v1/services/nope', undefined],
    ['GET', '/api/v1/services/nope/state', undefined],
    ['PUT', '/api/v1/services/nope/canary', { weight: 5 }],
    ['PUT', '/api/v1/services/nope/canary', { weight: 'not a number' }],
    ['POST', '/api/v1/services/nope/flip', undefined],
    ['GET', '/api/v1/services/nope/rollouts/current', undefined],
    ['GET', '/api/v1/services/SHOP/state', undefined],
  ] as const) {
    const res = await admin.call(method, path, { body });
    t.equal(res.status, 404, `${method} ${path}`);
    t.same(Object.keys(res.json).sort(), ['code', 'error', 'message', 'statusCode']);
    t.equal(res.json.code, 'TURNOUT_ERR_NOT_FOUND');
    t.match(res.json.message, /^params\.service: no service "(nope|SHOP)" \(services: shop, api\)$/);
  }
  t.equal((await admin.call('GET', `/api/v1/services/${'x'.repeat(80)}/state`)).status, 404, 'a long name is a 404 too');
  t.equal((await admin.call('GET', '/api/v1/services/nope/state', { auth: false })).status, 401, 'no token: 401 before the name is looked up');
  t.equal((await admin.call('GET', `${SHOP}/nothing`)).status, 404, 'an unknown route of a known service');
  t.same(versions(admin), { shop: 0, api: 0 });
});

t.test('bad bodies on prefixed routes: 400 naming the field, nothing changed', async (t) => {
  const { admin } = await twoServices(t);
  const cases: [string, string, unknown, RegExp][] = [
    ['PUT', `${SHOP}/canary`, { weight: 101 }, /body\.weight/],
    ['PUT', `${SHOP}/canary`, { weight: '8' }, /body\.weight/],
    ['PUT', `${SHOP}/canary`, { weight: 1.23456 }, /body\.weight must have at most 4 decimals/],
    ['PUT', `${API}/canary`, { weight: 1, colour: 'green' }, /body.*colour/],
    ['PUT', `${API}/canary`, {}, /body.*weight/],
    ['POST', `${API}/flip`, { verify: { seconds: -1 } }, /verify\.seconds/],
    ['PUT', `${SHOP}/shadow`, { percent: 500 }, /body\.percent/],
    ['POST', `${SHOP}/rollouts`, { steps: [] }, /steps/],
    ['POST', `${API}/rollouts`, { steps: [{ weight: 50, holdSeconds: 1 }, { weight: 10, holdSeconds: 1 }] }, /steps\[1\]\.weight/],
    ['POST', `${API}/override-links`, { colour: 'purple' }, /body\.colour/],
  ];
  for (const [method, path, body, message] of cases) {
    const res = await admin.call(method, path, { body });
    t.equal(res.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
    t.equal(res.json.code, 'TURNOUT_ERR_BAD_REQUEST');
    t.match(res.json.message, message);
  }
  const badIfMatch = await admin.call('POST', `${SHOP}/flip`, { headers: { 'if-match': 'seven' } });
  t.equal(badIfMatch.status, 400);
  t.match(badIfMatch.json.message, /headers\.if-match/);
  t.same(versions(admin), { shop: 0, api: 0 }, 'nothing changed');
  t.same(await admin.services.shop!.state.events(10), []);
  t.same(await admin.services.api!.state.events(10), []);
});

t.test("a rollout on one service while the other is flipped: each controller sees only its own service", async (t) => {
  const { admin } = await twoServices(t);
  const started = await admin.call('POST', `${SHOP}/rollouts`, { body: { steps: [{ weight: 10, holdSeconds: 600 }, { weight: 100, holdSeconds: 60 }], reason: 'shop 7' } });
  t.equal(started.status, 201);
  t.match(started.json, { status: 'running', canary: 'green', weight: 10 });
  t.equal((await admin.call('GET', `${API}/rollouts/current`)).status, 404, 'api has no rollout');
  t.match((await admin.call('GET', `${SHOP}/state`)).json, { canary: { weight: 10 }, rollout: { status: 'running', step: 0 } });
  t.match((await admin.call('GET', `${API}/state`)).json, { canary: { weight: 0 }, rollout: null });

  const flipped = await admin.call('POST', `${API}/flip`);
  t.equal(flipped.status, 200, 'a flip of api is not refused by the rollout of shop');
  t.equal(flipped.json.active, 'green');
  t.match((await admin.call('GET', `${SHOP}/rollouts/current`)).json, { status: 'running', weight: 10 }, "shop's rollout goes on");
  t.match((await admin.call('GET', `${SHOP}/state`)).json, { version: 1, active: 'blue' }, 'and shop did not flip');

  t.equal((await admin.call('POST', `${SHOP}/rollouts/current/pause`)).status, 200);
  t.equal((await admin.call('POST', `${API}/rollouts/current/pause`)).status, 404, 'api has no rollout to pause');
  const aborted = await admin.call('POST', `${SHOP}/rollouts/current/abort`, { body: { reason: 'enough' } });
  t.equal(aborted.status, 200);
  t.equal(aborted.json.status, 'aborted');
  const list = (await admin.call('GET', '/api/v1/services')).json.services;
  t.match(list[0], { name: 'shop', active: 'blue', canary: { weight: 0 }, rollout: { status: 'aborted' } });
  t.match(list[1], { name: 'api', active: 'green', rollout: null });
  t.same(
    (await admin.call('GET', `${SHOP}/events`)).json.map((e: { action: string; service: string }) => `${e.service} ${e.action}`),
    ['shop rollout.abort', 'shop rollout.pause', 'shop rollout.start'],
  );
  t.same((await admin.call('GET', `${API}/events`)).json.map((e: { action: string; service: string }) => `${e.service} ${e.action}`), ['api flip']);
});

t.test("upstreams, verification and override links are per service", async (t) => {
  const { admin } = await twoServices(t);
  // A request recorded by shop's data plane shows in shop's windows only.
  const shop = admin.services.shop!;
  const target = shop.pools.green.targets[0]!;
  shop.telemetry.begin(target);
  shop.telemetry.end('green', target, 200, 4, 'ok');
  const shopUps = await admin.call('GET', `${SHOP}/upstreams`);
  t.equal(shopUps.status, 200);
  t.equal(shopUps.json.colours.green.requests, 1);
  t.match(shopUps.json.colours.green.targets[0].url, /^http:\/\/127\.0\.0\.1:\d+/);
  const apiUps = await admin.call('GET', `${API}/upstreams`);
  t.equal(apiUps.json.colours.green.requests, 0, "api's windows saw nothing");
  t.not(apiUps.json.colours.green.targets[0].url, shopUps.json.colours.green.targets[0].url, 'each service lists its own targets');

  const verified = await admin.call('POST', `${API}/flip`, { body: { verify: { seconds: 60 } } });
  t.equal(verified.status, 200);
  t.match(verified.json.verification, { status: 'running', colour: 'green' });
  t.equal((await admin.call('GET', `${SHOP}/verification`)).status, 404, 'shop never verified a flip');
  t.match((await admin.call('GET', `${API}/verification`)).json, { status: 'running' });
  const reverted = await admin.call('POST', `${API}/verification/revert`, { body: { reason: 'looks off' } });
  t.equal(reverted.status, 200);
  t.equal(reverted.json.active, 'blue');
  t.equal((await admin.call('POST', `${SHOP}/verification/revert`)).status, 404, 'shop never verified a flip: nothing to revert');
  t.same(versions(admin), { shop: 0, api: 2 });

  const noLinks = await admin.call('POST', `${SHOP}/override-links`, { body: { colour: 'green' } });
  t.equal(noLinks.status, 409, 'shop has no routing.override.secret');
});

t.test('converged is per service: the fleet is asked about that service\'s version', async (t) => {
  const asked: string[] = [];
  const { admin } = await twoServices(t, {
    converge: async (version: number, service: string) => {
      asked.push(`${service}@${version}`);
      return { applied: 2, replicas: 2, lagging: [] };
    },
  });
  t.match((await admin.call('POST', `${SHOP}/flip`)).json, { version: 1, converged: { applied: 2, replicas: 2 } });
  t.match((await admin.call('PUT', `${API}/canary`, { body: { weight: 4 } })).json, { version: 1, converged: { applied: 2, replicas: 2 } });
  t.match((await admin.call('POST', `${API}/rollouts`, { body: { steps: [{ weight: 10, holdSeconds: 60 }, { weight: 100, holdSeconds: 60 }] } })).json, { converged: { applied: 2 } });
  t.same(asked, ['shop@1', 'api@1', 'api@2']);
});

t.test('one service in the list: the unprefixed routes act on it, and the prefixed ones too', async (t) => {
  const clock = manualClock();
  const admin = await startServicesAdmin(t, [{ name: 'shop', hosts: ['shop.example.com'] }], { clock });
  const flip = await admin.call('POST', '/api/v1/flip');
  t.equal(flip.status, 200);
  t.equal(flip.json.active, 'green');
  t.match((await admin.call('GET', `${SHOP}/state`)).json, { version: 1, active: 'green' }, 'the same service under its name');
  t.equal((await admin.call('PUT', `${SHOP}/canary`, { body: { weight: 2 }, headers: { 'if-match': '"1"' } })).status, 200);
  t.same((await admin.call('GET', '/api/v1/events')).json.map((e: { service: string; version: number }) => `${e.service}@${e.version}`), ['shop@2', 'shop@1']);
  t.equal((await admin.call('GET', '/api/v1/upstreams')).status, 200);
  t.equal((await admin.call('GET', '/api/v1/services/default/state')).status, 404, 'only the configured name');
  const fleet = await admin.call('GET', '/api/v1/fleet');
  t.equal(fleet.json.version, 2);
  t.notOk('versions' in fleet.json, 'one service: the §4 shape');
});

t.test('the service list must be non-empty with unique names', async (t) => {
  const { buildAdminServer } = await import('../../src/admin/server.ts');
  const { admin } = await twoServices(t);
  const shop = admin.services.shop!.service;
  await t.rejects(buildAdminServer({ token: 'a-token-of-enough-length', isReady: () => true, services: [] }), { code: 'TURNOUT_ERR_CONFIG', message: /at least one service/ });
  await t.rejects(buildAdminServer({ token: 'a-token-of-enough-length', isReady: () => true, services: [shop, shop] }), { code: 'TURNOUT_ERR_CONFIG', message: /service "shop" is given twice/ });
});

t.test('the whole app (a §2 config): one service `default`, the same state under both prefixes, events carrying it', async (t) => {
  const { startApp } = await import('../helpers/app.ts');
  const { startUpstream } = await import('../helpers/upstream.ts');
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  const running = await startApp(t, { upstreams: { blue: { targets: [blue.url] }, green: { targets: [green.url] } } }, { background: false });
  const list = (await (await running.api('/api/v1/services')).json()) as { services: { name: string; match: unknown; version: number }[] };
  t.same(list.services.map((s) => [s.name, s.match, s.version]), [['default', { hosts: [], pathPrefix: '/' }, 0]]);
  const put = await running.api('/api/v1/services/default/canary', { method: 'PUT', body: JSON.stringify({ weight: 7 }) });
  t.equal(put.status, 200);
  t.match(await (await running.api('/api/v1/state')).json(), { version: 1, canary: { weight: 7 } }, 'the unprefixed route reads the same service');
  t.equal(running.app.state.state.weight, 7);
  const events = (await (await running.api('/api/v1/events')).json()) as { service: string; action: string }[];
  t.same(events.map((e) => `${e.service} ${e.action}`), ['default weight']);
  t.equal((await running.api('/api/v1/services/shop/state')).status, 404);
});
