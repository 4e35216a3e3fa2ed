// A replica shuts down cleanly (SIGTERM path: app.close()) while Redis is unreachable.
import t from 'tap';
import { redisMissing, startRedis } from '../helpers/redis.ts';
import { replica, upstreams } from './harness.ts';

const missing = redisMissing();
if (missing !== null) {
  t.comment(missing);
  t.pass(missing);
} else {
  t.test('close() with Redis gone does not hang', async (t) => {
    const redis = await startRedis(t);
    const up = await upstreams(t);
    const a = await replica(t, redis.url, up, 'a', {}, { background: true });
    await a.app.state.setWeight(3, { actor: 't' });
    await redis.kill();
    const closed = await Promise.race([a.app.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('hung'), 8000).unref())]);
    t.equal(closed, 'closed');
  });
}
