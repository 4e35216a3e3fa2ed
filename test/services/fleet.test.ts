// CONTRACT §10 with CONTRACT §6: two replicas of one fleet, two services, one real redis-server.
// Each service's state lives under its own key below state.key, with its own version counter; a
// change of one converges on the other replica and never moves the other service.
import t from 'tap';
import { redisMissing, startRedis } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { get, pair, startServices, type Pair } from './helpers.ts';

const missing = redisMissing();
if (missing !== null) {
  t.comment(missing);
  t.pass(missing);
} else {
  const redis = await startRedis(t);

  t.test('two services, two replicas: per-service keys, versions and convergence', async (t) => {
    const shop = await pair(t, 'shop');
    const api = await pair(t, 'api');
    const services = (s: Pair, a: Pair) => ({
      shop: { match: { hosts: ['shop.test'] }, upstreams: s.upstreams },
      api: { match: { hosts: ['api.test'] }, upstreams: a.upstreams },
    });
    const replica = (id: string) =>
      startServices(t, services(shop, api), {
        state: { store: 'redis', url: redis.url, key: 'svcfleet' },
        // b: an automatic replica id, shared by its per-service fleets.
        fleet: { replica: id, heartbeatMs: 200, leaseMs: 600, convergeTimeoutMs: 2000 },
      });
    const a = await replica('a');
    const b = await replica('');

    await a.app.services.get('api')!.state.setWeight(100, { actor: 'test' });
    await a.app.services.get('shop')!.state.flip({ actor: 'test' });
    await a.app.services.get('shop')!.state.flip({ actor: 'test' });
    const bApi = b.app.services.get('api')!;
    const bShop = b.app.services.get('shop')!;
    await waitFor(() => bApi.state.snapshot.version === 1 && bShop.state.snapshot.version === 2, 'replica b to apply both services', 5000, 20);
    t.match(bApi.state.snapshot, { version: 1, active: 'blue', weight: 100 }, 'api: its own version 1');
    t.match(bShop.state.snapshot, { version: 2, active: 'blue', weight: 0 }, 'shop: its own version 2');

    // Through b's proxy each service routes by its own converged state.
    t.match(await get(b.proxy, 'api.test', '/x'), { name: 'api-green' }, 'api canary at 100 %');
    t.match(await get(b.proxy, 'shop.test', '/x'), { name: 'shop-blue' }, 'shop flipped back');

    // One key per service below state.key; no `default` key for a services: config.
    const run = <T>(cmd: string[]) => a.app.services.get('shop')!.fleet!.connection.run<T>(cmd);
    t.equal(await run<string>(['HGET', 'svcfleet:svc:shop:state', 'version']), '2');
    t.equal(await run<string>(['HGET', 'svcfleet:svc:api:state', 'version']), '1');
    t.equal(await run<number>(['EXISTS', 'svcfleet:svc:default:state']), 0);
    // Each service's audit log names it, and only holds its own events.
    const shopEvents = await bShop.state.events(10);
    t.same(shopEvents.map((e) => [e.service, e.action, (e as { replica?: string }).replica]), [['shop', 'flip', 'a'], ['shop', 'flip', 'a']]);
    const apiEvents = await bApi.state.events(10);
    t.same(apiEvents.map((e) => [e.service, e.action]), [['api', 'weight']]);
    // The per-service fleet converges per service; the replica list has each replica once.
    t.match(await a.app.services.get('api')!.fleet!.converge(1), { applied: 2, replicas: 2 });
    await bApi.state.setWeight(0, { actor: 'test' });
    t.match(await bApi.fleet!.converge(2), { applied: 2, replicas: 2, lagging: [] }, 'a write on b (automatic id) converges on both');
    // Fleet-wide telemetry per service: what a served reaches b's view of the same service only.
    for (let i = 0; i < 6; i++) await get(a.proxy, 'api.test', `/t${i}`);
    for (let i = 0; i < 4; i++) await get(a.proxy, 'shop.test', `/t${i}`);
    for (const r of [...a.app.services.values(), ...b.app.services.values()]) r.fleetTelemetry!.flush();
    const count = (name: string) => {
      const view = b.app.services.get(name)!.fleetTelemetry!.upstreams();
      return view.colours.blue.requests + view.colours.green.requests;
    };
    await waitFor(() => count('api') >= 7 && count('shop') >= 5, 'b to see a\'s per-service telemetry', 5000, 20);
    t.equal(count('api'), 6 + 1, "b's api view: a's six plus b's own request to api");
    t.equal(count('shop'), 4 + 1, "b's shop view: a's four plus b's own request to shop");
    const replicas = await a.app.fleet!.replicas();
    t.equal(replicas.length, 2, 'two replicas, not one per service');
    t.equal(new Set([...b.app.services.values()].map((r) => r.fleet!.id)).size, 1, 'one id per replica');
    t.equal(new Set([...b.app.services.values()].map((r) => r.fleet!.connection)).size, 1, 'one command connection per replica, whatever the number of services');
    // Two replicas × (a command and a subscriber connection), plus this test's own view of them.
    const clients = (await run<string>(['CLIENT', 'LIST'])).trim().split('\n').length;
    t.ok(clients <= 5, `${clients} Redis clients for 2 replicas × 2 services`);
  });
}
