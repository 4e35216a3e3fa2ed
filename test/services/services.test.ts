// CONTRACT §10 end to end: one Turnout, several services matched by host and path, each with its
// own blue/green pair, state, rollout, telemetry and events. Real upstreams, the real proxy.
import t from 'tap';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Agent } from 'undici';
import { rawExchange } from '../helpers/raw-http.ts';
import { checkWithTool } from '../helpers/tools.ts';
import { decide } from '../../src/routing/decide.ts';
import { get, pair, served, startServices, TOKEN } from './helpers.ts';

const actor = { actor: 'test' };

t.test('requests go to the service whose match fits; no match is a 404 without colour', async (t) => {
  const shop = await pair(t, 'shop');
  const api = await pair(t, 'api');
  const { app, proxy } = await startServices(t, {
    shop: { match: { hosts: ['shop.test', '*.shop.test'] }, upstreams: shop.upstreams },
    api: { match: { hosts: ['api.test'], pathPrefix: '/v2' }, upstreams: api.upstreams },
  });
  t.same([...app.services.keys()], ['shop', 'api'], 'app.services in config order');
  t.equal(app.state, app.services.get('shop')!.state, 'the single-service fields are the first service');

  t.match(await get(proxy, 'shop.test', '/'), { status: 200, name: 'shop-blue', colour: 'blue' });
  t.match(await get(proxy, 'EU.Shop.Test:8080', '/cart?x=1'), { status: 200, name: 'shop-blue' }, 'wildcard, case and port');
  t.match(await get(proxy, 'api.test', '/v2'), { status: 200, name: 'api-blue' });
  t.match(await get(proxy, 'api.test', '/v2/users'), { status: 200, name: 'api-blue' });
  for (const [host, path] of [['api.test', '/v1'], ['api.test', '/v2x'], ['other.test', '/'], ['shop.test.evil', '/']] as const) {
    const miss = await get(proxy, host, path);
    t.equal(miss.status, 404, `${host}${path}: 404`);
    t.strictSame(miss.body, { statusCode: 404, error: 'Not Found', message: 'no service matches this host and path' }, 'the error body, no colour');
    t.equal(miss.colour, undefined, 'no colour header');
  }
  // The upstreams saw the path unchanged and the Host preserved.
  t.same(served(shop.blue).map((r) => [r.headers.host, r.url]), [['shop.test', '/'], ['EU.Shop.Test:8080', '/cart?x=1']]);
  t.same(served(api.blue).map((r) => [r.headers.host, r.url]), [['api.test', '/v2'], ['api.test', '/v2/users']]);
  t.equal(served(shop.green).length + served(api.green).length, 0);
  // A request the proxy refuses anyway still gets its own answer, not the 404.
  // (raw: a URL parser would resolve the dot segments before sending)
  const traversal = await rawExchange(Number(new URL(proxy).port), 'GET /%2e%2e/etc HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n');
  t.match(traversal, /^HTTP\/1\.1 400 /, 'path traversal: 400, whether a service matches or not');
});

t.test('two services flipped and weighted independently under load', async (t) => {
  const shop = await pair(t, 'shop');
  const api = await pair(t, 'api');
  const { app, proxy } = await startServices(t, {
    shop: { match: { hosts: ['shop.test'] }, upstreams: shop.upstreams },
    api: { match: { hosts: ['api.test'] }, upstreams: api.upstreams, routing: { sticky: { by: 'header', header: 'x-user-id' } } },
  });
  const shopState = app.services.get('shop')!.state;
  const apiState = app.services.get('api')!.state;
  await shopState.flip(actor);
  await apiState.setWeight(30, actor);
  t.match(shopState.snapshot, { version: 1, active: 'green', weight: 0 }, 'shop flipped');
  t.match(apiState.snapshot, { version: 1, active: 'blue', weight: 30 }, 'api weighted, its own version counter');

  const agent = new Agent({ connections: 20 });
  t.teardown(() => agent.close());
  const total = 600;
  let next = 0;
  const wrong: string[] = [];
  const expectedApi = { blue: 0, green: 0 };
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next < total) {
        const n = next++;
        if (n % 2 === 0) {
          const a = await get(proxy, 'shop.test', `/s${n}`, agent);
          if (a.status !== 200 || a.name !== 'shop-green') wrong.push(`shop ${n}: ${a.status} ${a.name}`);
        } else {
          const user = `u${n}`;
          const want = decide({ overrideHeader: undefined, overrideCookie: undefined, stickyKey: user }, apiState.snapshot, Math.random);
          expectedApi[want]++;
          const a = await get(proxy, 'api.test', `/a${n}`, agent, { 'x-user-id': user });
          if (a.status !== 200 || a.name !== `api-${want}`) wrong.push(`api ${n}: ${a.status} ${a.name}, wanted api-${want}`);
        }
      }
    }),
  );
  t.same(wrong, [], 'every request landed on its own service and the colour its state chose');
  t.equal(served(shop.green).length, total / 2, 'shop green saw every shop request');
  t.equal(served(shop.blue).length, 0, 'shop blue saw none');
  t.equal(served(api.blue).length, expectedApi.blue, 'api blue saw exactly the stable share');
  t.equal(served(api.green).length, expectedApi.green, 'api green saw exactly the canary share');
  t.ok(expectedApi.green > 30 && expectedApi.blue > 150, `about 30 % canary (${expectedApi.green}/${total / 2})`);
  t.ok(served(api.green).every((r) => r.url.startsWith('/a')) && served(shop.green).every((r) => r.url.startsWith('/s')), 'no request crossed services');

  // Per-service telemetry: each service's windows count its own requests only.
  const shopView = app.services.get('shop')!.telemetry.upstreams();
  const apiView = app.services.get('api')!.telemetry.upstreams();
  t.equal(shopView.colours.green.requests, total / 2);
  t.equal(shopView.colours.blue.requests, 0);
  t.equal(apiView.colours.blue.requests + apiView.colours.green.requests, total / 2);
  t.equal(apiView.colours.green.requests, expectedApi.green);
});

t.test('a rollout of one service while the other is flipped; events name their service', async (t) => {
  const shop = await pair(t, 'shop');
  const api = await pair(t, 'api');
  let now = Date.parse('2026-01-01T00:00:00Z');
  const clock = { now: () => now };
  const { app, proxy, admin } = await startServices(
    t,
    {
      shop: { match: { pathPrefix: '/' }, upstreams: shop.upstreams },
      api: { match: { pathPrefix: '/v2' }, upstreams: api.upstreams, routing: { sticky: { by: 'none' } } },
    },
    {},
    { clock },
  );
  const shopRt = app.services.get('shop')!;
  const apiRt = app.services.get('api')!;
  const analysis = { intervalSeconds: 1, minRequests: 5, maxErrorRate: 0.5, maxP99Ms: 60_000, maxP99Ratio: 1_000_000 };
  await apiRt.rollouts.create({ steps: [{ weight: 50, holdSeconds: 1 }, { weight: 100, holdSeconds: 1 }], analysis, onSuccess: 'promote' }, actor);
  t.match(apiRt.state.snapshot, { weight: 50 }, 'the rollout set the api canary weight');
  t.match(shopRt.state.snapshot, { version: 0, weight: 0, active: 'blue' }, 'shop untouched');

  const agent = new Agent({ connections: 4 });
  t.teardown(() => agent.close());
  const traffic = async () => {
    for (let i = 0; i < 20; i++) {
      await get(proxy, 'any.test', '/v2/x', agent);
      await get(proxy, 'any.test', '/page', agent);
    }
  };
  let flipped = false;
  for (let round = 0; round < 20 && apiRt.rollouts.current()?.status === 'running'; round++) {
    await traffic();
    now += 1500;
    await apiRt.rollouts.tick();
    if (!flipped) {
      // Mid-rollout, the other service flips: the rollout goes on.
      await shopRt.state.flip(actor);
      flipped = true;
      t.equal(apiRt.rollouts.current()?.status, 'running', 'the shop flip does not touch the api rollout');
    }
  }
  t.equal(apiRt.rollouts.current()?.status, 'promoted', 'the api rollout ran to its promotion');
  t.match(apiRt.state.snapshot, { active: 'green', weight: 0 });
  t.match(shopRt.state.snapshot, { active: 'green', weight: 0, version: 1 }, 'shop: exactly its one flip');
  t.equal(shopRt.rollouts.current(), null, 'no rollout on shop');

  const shopEvents = await shopRt.state.events(10);
  const apiEvents = await apiRt.state.events(10);
  t.same(shopEvents.map((e) => [e.service, e.action]), [['shop', 'flip']]);
  t.same(apiEvents.map((e) => e.service), apiEvents.map(() => 'api'), 'every api event names api');
  t.same(apiEvents.map((e) => e.action).reverse(), ['rollout.start', 'rollout.step', 'rollout.promote']);

  // After the promotion, /v2 lands on api green and the rest on shop green.
  t.match(await get(proxy, 'any.test', '/v2/after'), { name: 'api-green' });
  t.match(await get(proxy, 'any.test', '/after'), { name: 'shop-green' });

  // Prometheus: every per-service series names its service.
  const metrics = await (await fetch(`${admin}/metrics`)).text();
  t.match(metrics, 'turnout_active_colour{service="api",colour="green"} 1');
  t.match(metrics, 'turnout_state_version{service="shop"} 1');
  t.match(metrics, new RegExp(`turnout_requests_total\\{service="shop",colour="blue",target="${shop.blue.url}",status_class="2xx"\\} \\d+`));
  t.match(metrics, 'turnout_request_duration_seconds_count{service="api",colour="green"}');
  for (const line of metrics.split('\n')) {
    if (/^turnout_(requests|upstream|request_duration|active_colour|canary_weight|state_version|colour_healthy|target_|in_flight)/.test(line)) {
      if (!line.includes('service="')) t.fail(`a per-service series without service: ${line}`);
    }
  }
  await checkWithTool(t, 'promtool accepts /metrics with the service label', 'promtool', ['check', 'metrics'], metrics);
  // The unprefixed admin API still answers for the first service (svc-api wires the rest).
  const state = await (await fetch(`${admin}/api/v1/state`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as { active: string };
  t.equal(state.active, 'green');
});

t.test('the access log names the service; an upgrade no service matches gets 404 on the socket', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const shop = await pair(t, 'shop');
  const api = await pair(t, 'api');
  const { proxy } = await startServices(
    t,
    {
      shop: { match: { hosts: ['shop.test'] }, upstreams: shop.upstreams },
      api: { match: { hosts: ['api.test'] }, upstreams: api.upstreams },
    },
    { log: { access: true } },
    { logger: pino({ level: 'info' }, stream) },
  );
  await get(proxy, 'shop.test', '/one');
  await get(proxy, 'api.test', '/two');
  const access = lines.filter((l) => l.msg === 'access').map((l) => [l.service, l.url, l.colour]);
  t.same(access, [['shop', '/one', 'blue'], ['api', '/two', 'blue']]);

  const port = Number(new URL(proxy).port);
  const upgrade = (host: string) =>
    rawExchange(port, `GET /ws HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
  const miss = await upgrade('nowhere.test');
  t.match(miss, /^HTTP\/1\.1 404 Not Found\r\n/);
  t.match(miss, /"message":"no service matches this host and path"/);
  t.notMatch(miss, /colour/);
  t.equal(served(shop.blue).filter((r) => r.url === '/ws').length + served(api.blue).filter((r) => r.url === '/ws').length, 0, 'no upstream saw it');
});
