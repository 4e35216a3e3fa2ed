// Two and three replicas of one fleet on a real redis-server (CONTRACT §6): one state, CAS
// across replicas, convergence, one audit log, a late replica, GET /api/v1/fleet.
import t from 'tap';
import { redisMissing, startRedis } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { colourVia, replica, upstreams } from './harness.ts';
import { StateManager } from '../../src/state/manager.ts';
import { RedisStore } from '../../src/fleet/redis-store.ts';

const missing = redisMissing();
if (missing !== null) {
  t.comment(missing);
  t.pass(missing);
} else {
  const redis = await startRedis(t);
  let n = 0;
  const prefix = () => `f${++n}`;

  t.test('a flip through A routes B by it before A answers; converged says so', async (t) => {
    const up = await upstreams(t);
    const key = prefix();
    const a = await replica(t, redis.url, up, 'a', { prefix: key });
    const b = await replica(t, redis.url, up, 'b', { prefix: key });
    t.equal(await colourVia(b), 'blue');
    const res = await a.api('/api/v1/flip', { method: 'POST', headers: { 'content-type': 'application/json' } });
    t.equal(res.status, 200);
    const body = (await res.json()) as { version: number; active: string; converged: { applied: number; replicas: number; lagging: string[] } };
    t.match(body, { version: 1, active: 'green', converged: { applied: 2, replicas: 2, lagging: [] } });
    t.equal(b.app.state.snapshot.active, 'green', 'B swapped its snapshot before A answered');
    t.equal(await colourVia(b), 'green', "B's proxy routes by it");
    t.equal(up.green.seen.length, 1, 'and the green upstream saw that request');
    const state = (await (await b.api('/api/v1/state')).json()) as { version: number; active: string };
    t.match(state, { version: 1, active: 'green' });
  });

  t.test('CAS across replicas: a stale If-Match is 412 on the other replica and changes nothing', async (t) => {
    const up = await upstreams(t);
    const key = prefix();
    const a = await replica(t, redis.url, up, 'a', { prefix: key }, );
    const b = await replica(t, redis.url, up, 'b', { prefix: key }, );
    const put = (r: typeof a, weight: number, ifMatch?: string) =>
      r.api('/api/v1/canary', { method: 'PUT', body: JSON.stringify({ weight }), headers: ifMatch ? { 'if-match': ifMatch } : {} });
    t.equal((await put(a, 10, '"0"')).status, 200);
    const stale = await put(b, 20, '"0"');
    t.equal(stale.status, 412, 'B was at version 0 too, but A committed first');
    t.equal(((await stale.json()) as { error: string }).error, 'Precondition Failed');
    t.match(a.app.state.state, { version: 1, weight: 10 });
    t.match(b.app.state.state, { version: 1, weight: 10 });
    t.equal((await put(b, 20, '"1"')).status, 200);
    t.match(a.app.state.state, { version: 2, weight: 20 });
  });

  t.test('a stale manager cannot overwrite: it re-reads and applies on top', async (t) => {
    const key = prefix();
    // Two managers that never hear of each other's commits (no fleet, no pub/sub): B learns
    // only by losing its compare-and-set.
    const a = await StateManager.open({ store: new RedisStore({ url: redis.url, prefix: key, replica: 'a' }), seed: { active: 'blue', weight: 0 } });
    const b = await StateManager.open({ store: new RedisStore({ url: redis.url, prefix: key, replica: 'b' }), seed: { active: 'green', weight: 9 } });
    t.teardown(() => Promise.all([a.close(), b.close()]));
    t.match(b.state, { version: 0, active: 'blue', weight: 0 }, "B found A's seed");
    await a.setWeight(30, { actor: 'a' });
    await a.setWeight(40, { actor: 'a' });
    await t.rejects(b.setWeight(1, { actor: 'b', ifMatch: 0 }), { code: 'TURNOUT_ERR_PRECONDITION_FAILED' }, 'stale If-Match → 412 after re-reading');
    const next = await b.flip({ actor: 'b' });
    t.match(next, { version: 3, active: 'green', weight: 0 });
    const events = await a.events(10);
    t.same(events.map((e) => [e.version, e.action, (e as { replica?: string }).replica]), [[3, 'flip', 'b'], [2, 'weight', 'a'], [1, 'weight', 'a']]);
    t.equal(events[0]?.from.weight, 40, 'the flip started from the state A committed');
  });

  t.test('20 concurrent writers across 2 replicas: 20 versions, none lost, one log', async (t) => {
    const up = await upstreams(t);
    const key = prefix();
    const a = await replica(t, redis.url, up, 'a', { prefix: key });
    const b = await replica(t, redis.url, up, 'b', { prefix: key });
    const writes = Array.from({ length: 20 }, (_, i) =>
      (i % 2 === 0 ? a : b).api('/api/v1/canary', { method: 'PUT', body: JSON.stringify({ weight: i + 1 }), headers: { 'x-turnout-actor': `w${i + 1}` } }),
    );
    const answers = await Promise.all(writes);
    t.same(answers.map((r) => r.status), Array(20).fill(200));
    const versions = (await Promise.all(answers.map((r) => r.json() as Promise<{ version: number }>))).map((s) => s.version).sort((x, y) => x - y);
    t.same(versions, Array.from({ length: 20 }, (_, i) => i + 1), 'each write got its own version');
    const events = (await (await b.api('/api/v1/events?limit=100')).json()) as { version: number; actor: string; from: unknown; to: unknown }[];
    t.same(events.map((e) => e.version), Array.from({ length: 20 }, (_, i) => 20 - i));
    for (let i = 0; i < events.length - 1; i++) t.same(events[i]?.from, events[i + 1]?.to, `event ${events[i]?.version} starts where the previous ended`);
    t.equal(new Set(events.map((e) => e.actor)).size, 20);
    await waitFor(() => a.app.state.state.version === 20 && b.app.state.state.version === 20, 'both at version 20');
    t.same(a.app.state.state, b.app.state.state, 'both replicas hold the same state');
  });

  t.test('the config seeds Redis only once; a late replica serves the current state from its first request', async (t) => {
    const up = await upstreams(t);
    const key = prefix();
    const a = await replica(t, redis.url, up, 'a', { prefix: key, routing: { active: 'blue', canaryWeight: 0 } });
    await a.app.state.flip({ actor: 'a' });
    const late = await replica(t, redis.url, up, 'late', { prefix: key, routing: { active: 'blue', canaryWeight: 50 } });
    t.match(late.app.state.state, { version: 1, active: 'green', weight: 0 }, 'the fleet state, not its own seed');
    t.equal(await colourVia(late), 'green');
    const fleet = (await (await late.api('/api/v1/fleet')).json()) as { version: number; replicas: { id: string; self: boolean; appliedVersion: number; leader: boolean; workers: number }[] };
    t.equal(fleet.version, 1);
    t.same(fleet.replicas.map((r) => [r.id, r.self, r.appliedVersion, r.workers]), [['a', false, 1, 1], ['late', true, 1, 1]]);
  });

  t.test('a replica that missed the notification catches up by the version check', async (t) => {
    const up = await upstreams(t);
    const key = prefix();
    const a = await replica(t, redis.url, up, 'a', { prefix: key });
    const b = await replica(t, redis.url, up, 'b', { prefix: key });
    // Commit behind the fleet's back: the state hash changes, nobody is notified.
    const s = { ...a.app.state.state, version: 1, weight: 7 };
    await a.app.fleet!.connection.run(['HSET', `${key}:svc:default:state`, 'version', '1', 'json', JSON.stringify(s)]);
    await waitFor(() => b.app.state.state.weight === 7 && a.app.state.state.weight === 7, 'the heartbeat check adopted version 1');
    t.pass('adopted without a pub/sub message');
  });

  t.test('converged names a replica that does not apply in time', async (t) => {
    const up = await upstreams(t);
    const key = prefix();
    const a = await replica(t, redis.url, up, 'a', { prefix: key, fleet: { convergeTimeoutMs: 300 } });
    // A ghost replica: a heartbeat that never acks.
    await a.app.fleet!.connection.run(['SET', `${key}:replica:ghost`, JSON.stringify({ id: 'ghost', startedAt: '', lastSeen: '', appliedVersion: 0, workers: 1 }), 'PX', '60000']);
    await a.app.fleet!.connection.run(['SADD', `${key}:replicas`, 'ghost']);
    const res = await a.api('/api/v1/canary', { method: 'PUT', body: JSON.stringify({ weight: 5 }) });
    t.match(await res.json(), { version: 1, converged: { applied: 1, replicas: 2, lagging: ['ghost'] } });
  });
}
