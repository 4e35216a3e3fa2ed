// Redis killed under load and restarted empty (CONTRACT §6 "Redis unavailable"): the data plane
// keeps routing on the last applied state and drops nothing, /readyz stays 200, admin writes
// answer 503 and change nothing, turnout_state_store_up is 0; once Redis is back every replica
// reloads by itself and the highest applied version is written back, never the config seed.
import t from 'tap';
import { redisMissing, startRedis } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { replica, upstreams } from './harness.ts';

const missing = redisMissing();
if (missing !== null) {
  t.comment(missing);
  t.pass(missing);
} else {
  t.test('Redis killed under load and restarted empty', async (t) => {
    const redis = await startRedis(t);
    const up = await upstreams(t);
    const a = await replica(t, redis.url, up, 'a');
    const b = await replica(t, redis.url, up, 'b');
    await a.app.state.flip({ actor: 'a' });
    await a.app.state.setWeight(25, { actor: 'a' });
    await waitFor(() => b.app.state.state.version === 2, 'B at version 2');
    t.equal((await (await a.api('/api/v1/events')).json() as unknown[]).length, 2);

    // Load through both replicas for the whole outage.
    let stop = false;
    const statuses: number[] = [];
    const load = async (proxy: string) => {
      while (!stop) {
        const res = await fetch(proxy + '/x', { headers: { 'x-user-id': String(statuses.length) } });
        await res.arrayBuffer();
        statuses.push(res.status);
      }
    };
    const loops = [load(a.proxy), load(b.proxy), load(a.proxy)];
    await waitFor(() => statuses.length > 50, 'load running');

    await redis.kill();
    await waitFor(() => !a.app.fleet!.up && !b.app.fleet!.up, 'both replicas noticed');
    const before = statuses.length;
    await waitFor(() => statuses.length > before + 100, 'requests keep flowing without Redis');

    const write = await b.api('/api/v1/canary', { method: 'PUT', body: JSON.stringify({ weight: 50 }) });
    t.equal(write.status, 503, 'an admin write answers 503');
    t.match(await write.json(), { statusCode: 503, error: 'Service Unavailable', message: /state store/ });
    t.match(b.app.state.state, { version: 2, weight: 25 }, 'and changed nothing');
    t.equal((await b.api('/api/v1/flip', { method: 'POST' })).status, 503);
    t.equal((await fetch(a.admin + '/readyz')).status, 200, '/readyz unaffected');
    t.match(await (await a.api('/api/v1/state')).json(), { version: 2, active: 'green' }, 'reads answer from the last applied state');
    t.match(await (await fetch(a.admin + '/metrics')).text(), /turnout_state_store_up\{replica="a"\} 0/);
    const events = (await (await a.api('/api/v1/events')).json()) as { version: number; replica: string }[];
    t.same(events.map((e) => [e.version, e.replica]), [[2, 'a'], [1, 'a']], 'events answer from what this replica last read');
    const fleetView = (await (await a.api('/api/v1/fleet')).json()) as { replicas: { id: string }[] };
    t.ok(fleetView.replicas.some((r) => r.id === 'a'), 'GET /api/v1/fleet still answers');

    await redis.start();
    await waitFor(() => a.app.fleet!.up && b.app.fleet!.up, 'both reconnected', 10_000);
    // Redis came back empty: the replicas write back version 2 (not the seed, version 0).
    await waitFor(async () => (await a.app.fleet!.store.current())?.version === 2, 'state written back', 10_000);
    t.match(await a.app.fleet!.store.current(), { version: 2, active: 'green', weight: 25 });
    t.match(await (await fetch(b.admin + '/metrics')).text(), /turnout_state_store_up\{replica="b"\} 1/);
    const again = await b.api('/api/v1/canary', { method: 'PUT', body: JSON.stringify({ weight: 50 }) });
    t.equal(again.status, 200, 'writes work again');
    t.match(await again.json(), { version: 3, canary: { weight: 50 }, converged: { applied: 2, replicas: 2 } });
    t.equal(a.app.state.state.version, 3, 'A applied it too');

    stop = true;
    await Promise.all(loops);
    const bad = statuses.filter((s) => s !== 200);
    t.same(bad, [], `all ${statuses.length} requests answered 200 (none dropped)`);
  });

  t.test('the highest version wins the write-back', async (t) => {
    const redis = await startRedis(t);
    const up = await upstreams(t);
    const a = await replica(t, redis.url, up, 'a', { fleet: { heartbeatMs: 100 } });
    await a.app.state.setWeight(5, { actor: 'a' });
    await a.app.state.setWeight(6, { actor: 'a' });
    await redis.kill();
    await redis.start();
    // A lagging replica (started now, seeded at version 0 into the empty Redis) must lose.
    const late = await replica(t, redis.url, up, 'late', { fleet: { heartbeatMs: 100 }, routing: { canaryWeight: 99 } });
    await waitFor(() => late.app.state.state.version === 2, 'the late replica adopted version 2', 10_000);
    t.match(late.app.state.state, { version: 2, weight: 6 });
    t.match(await a.app.fleet!.store.current(), { version: 2, weight: 6 });
  });
}
