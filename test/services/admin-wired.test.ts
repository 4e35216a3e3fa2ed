// Integration (svc-api × svc-core): the admin API of a `services:` config, through app.ts's wiring.
import t from 'tap';
import { get, pair, startServices, TOKEN } from './helpers.ts';

t.test('three services by host and path: the prefixed routes move their own pair', async (t) => {
  const shop = await pair(t, 'shop');
  const api = await pair(t, 'api');
  const legacy = await pair(t, 'legacy');
  const { app, proxy, admin } = await startServices(t, {
    shop: { match: { hosts: ['shop.example.com', '*.shop.example.com'], pathPrefix: '/' }, upstreams: shop.upstreams, routing: { sticky: { by: 'none' } } },
    api: { match: { hosts: ['api.example.com'], pathPrefix: '/v2' }, upstreams: api.upstreams, routing: { sticky: { by: 'none' } } },
    'api-legacy': { match: { hosts: ['api.example.com'], pathPrefix: '/' }, upstreams: legacy.upstreams },
  });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(admin + path, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, json: (await res.json()) as any };
  };
  const list = await call('GET', '/api/v1/services');
  t.same(list.json.services.map((s: any) => [s.name, s.match.hosts, s.match.pathPrefix]), [
    ['shop', ['shop.example.com', '*.shop.example.com'], '/'],
    ['api', ['api.example.com'], '/v2'],
    ['api-legacy', ['api.example.com'], '/'],
  ]);
  t.equal((await call('GET', '/api/v1/state')).status, 400, 'several services: the unprefixed route names service');
  const flip = await call('POST', '/api/v1/services/api/flip');
  t.equal(flip.status, 200);
  t.equal(flip.json.version, 1);
  t.match(await get(proxy, 'api.example.com', '/v2/orders'), { name: 'api-green' }, 'api flipped');
  t.match(await get(proxy, 'api.example.com', '/v1/orders'), { name: 'legacy-blue' }, 'api-legacy untouched');
  t.match(await get(proxy, 'eu.shop.example.com', '/cart'), { name: 'shop-blue' }, 'shop untouched');
  const w = await call('PUT', '/api/v1/services/shop/canary', { weight: 100 });
  t.equal(w.status, 200);
  t.match(await get(proxy, 'shop.example.com', '/cart'), { name: 'shop-green' });
  const events = await call('GET', '/api/v1/services/api/events');
  t.same(events.json.map((e: any) => `${e.service} ${e.action}`), ['api flip']);
  t.match(app.services.get('api-legacy')!.state.state, { version: 0 });
  const ups = await call('GET', '/api/v1/services/api/upstreams');
  t.equal(ups.json.colours.green.requests, 1, "api's telemetry saw its one request");
  t.equal((await call('GET', '/api/v1/services/nope/state')).status, 404);
  const fleet = await call('GET', '/api/v1/fleet');
  t.same(fleet.json.versions, { shop: 1, api: 1, 'api-legacy': 0 });
  const links = await call('POST', '/api/v1/services/shop/override-links', { colour: 'green' });
  t.equal(links.status, 409, 'no secret on shop');
});
