// A replica with several data planes (workers) acks a version only once they route by it.
import t from 'tap';
import { Fleet } from '../../src/fleet/fleet.ts';
import { StateManager } from '../../src/state/manager.ts';
import { redisMissing, startRedis } from '../helpers/redis.ts';

const missing = redisMissing();
if (missing !== null) {
  t.comment(missing);
  t.pass(missing);
} else {
  t.test('converged counts a replica once its routedBy resolved', async (t) => {
    const redis = await startRedis(t);
    const open = (replica: string, convergeTimeoutMs: number) => Fleet.open({ url: redis.url, prefix: 'rb', replica, leaseMs: 1000, heartbeatMs: 200, convergeTimeoutMs });
    const a = await open('a', 300);
    const b = await open('b', 300);
    const ma = await StateManager.open({ store: a.store, seed: { active: 'blue', weight: 0 } });
    const mb = await StateManager.open({ store: b.store, seed: { active: 'blue', weight: 0 } });
    t.teardown(async () => {
      await ma.close();
      await mb.close();
      await a.close();
      await b.close();
    });
    let release: () => void = () => {};
    let hold = false;
    await a.start(ma, { lead: false });
    await b.start(mb, {
      lead: false,
      routedBy: () => (hold ? new Promise<void>((r) => (release = r)) : Promise.resolve()),
    });
    hold = true;
    const s1 = await ma.setWeight(5, { actor: 't' });
    t.same(await a.converge(s1.version), { applied: 1, replicas: 2, lagging: ['b'] }, "b's workers have not confirmed");
    release();
    hold = false;
    const s2 = await ma.setWeight(6, { actor: 't' });
    t.same(await a.converge(s2.version), { applied: 2, replicas: 2, lagging: [] });
  });
}
