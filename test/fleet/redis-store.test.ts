import t from 'tap';
import { RedisStore } from '../../src/fleet/redis-store.ts';
import { redisMissing, startRedis } from '../helpers/redis.ts';
import { storeConformance, state, event } from '../state/store-conformance.ts';
import { toWeight } from '../../src/domain.ts';

const missing = redisMissing();
if (missing !== null) {
  t.comment(missing);
  t.pass(missing);
} else {
  const redis = await startRedis(t);
  let n = 0;
  storeConformance(t, {
    name: 'redis',
    location() {
      // A fresh `state.key` per test: the same Redis, another fleet.
      const prefix = `conf${++n}`;
      return { open: (options = {}) => new RedisStore({ url: redis.url, prefix, ...options }) };
    },
  });

  t.test('redis: compare-and-set on version', async (t) => {
    const a = new RedisStore({ url: redis.url, prefix: 'cas' });
    const b = new RedisStore({ url: redis.url, prefix: 'cas' });
    t.teardown(() => Promise.all([a.close(), b.close()]));
    t.equal(await a.compareAndSave(null, state(0), []), 'saved', 'the seed goes in when nothing is stored');
    t.equal(await b.compareAndSave(null, state(0, { active: 'green' }), []), 'conflict', 'a second seed does not overwrite');
    t.equal(await a.compareAndSave(0, state(1), [event(1)]), 'saved');
    t.equal(await b.compareAndSave(0, state(1, { weight: toWeight(50) }), [event(1, { actor: 'b' })]), 'conflict', 'b saw version 0, a already wrote 1');
    t.same(await b.current(), state(1), "b's write changed nothing");
    t.same((await b.events(10)).map((e) => e.actor), ['test']);
    t.equal(await b.compareAndSave(1, state(2), [event(2)], 'not-the-leader'), 'fenced', 'a fenced write without the lease is refused');
    t.same((await a.current())?.version, 1);
  });

  t.test('redis: every key starts with state.key', async (t) => {
    const s = new RedisStore({ url: redis.url, prefix: 'fleetA' });
    t.teardown(() => s.close());
    await s.save(state(1), [event(1)]);
    const keys = (await s.connection.run<string[]>(['KEYS', 'fleetA*'])).sort();
    t.same(keys, ['fleetA:svc:default:events', 'fleetA:svc:default:state']);
    t.equal(await new RedisStore({ connection: s.connection, prefix: 'fleetB' }).current(), null, 'another prefix is another fleet');
  });
}
