// One rollout controller per fleet (CONTRACT §6): the leader is a real `turnout serve` process;
// SIGKILL it after the rollout's first step and the surviving replica takes the lease within
// fleet.leaseMs, continues from the persisted step, and each step and the promote happen exactly
// once, in one audit log.
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt } from '../helpers/build.ts';
import { redisMissing, startRedis } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { TEST_TOKEN } from '../helpers/app.ts';
import { RedisStore } from '../../src/fleet/redis-store.ts';
import { Lease } from '../../src/fleet/lease.ts';
import { RedisConnection } from '../../src/fleet/connection.ts';
import { replica, upstreams } from './harness.ts';

const missing = redisMissing();
if (missing !== null) {
  t.comment(missing);
  t.pass(missing);
} else {
  t.before(ensureBuilt);
  const redis = await startRedis(t);

  t.test('the lease: one holder, renewed, released by compare-and-delete only by its holder', async (t) => {
    const conn = new RedisConnection({ url: redis.url });
    await conn.connect();
    t.teardown(() => conn.close());
    const a = new Lease({ connection: conn, key: 'lease:test', id: 'a', leaseMs: 10_000 });
    const b = new Lease({ connection: conn, key: 'lease:test', id: 'b', leaseMs: 10_000 });
    await a.tick();
    await b.tick();
    t.equal(a.held, true);
    t.equal(b.held, false, 'only one holder');
    await a.tick();
    t.equal(a.held, true, 'the holder renews');
    await conn.run(['SET', 'lease:test', 'b', 'PX', '10000']); // a's lease expired and b took it
    await a.tick();
    t.equal(a.held, false, 'a renewal of a lease another replica took fails');
    await a.stop();
    t.equal(await conn.run(['GET', 'lease:test']), 'b', "stopping does not delete another replica's lease");
    await b.tick();
    t.equal(b.held, true);
    await b.stop();
    t.equal(await conn.run(['GET', 'lease:test']), null, 'the holder releases it');
  });

  t.test('leader SIGKILLed mid-rollout: the survivor continues, each step and the promote exactly once', async (t) => {
    const up = await upstreams(t);
    const key = 'lead';
    const leaseMs = 900;
    const config = {
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0, token: TEST_TOKEN },
      upstreams: { blue: { targets: [up.blue.url] }, green: { targets: [up.green.url] } },
      state: { store: 'redis', url: redis.url, key },
      fleet: { replica: 'leader', heartbeatMs: 200, leaseMs, convergeTimeoutMs: 500 },
      healthCheck: { intervalMs: 60_000, timeoutMs: 1000 },
    };
    const file = join(t.testdir(), 'leader.json');
    writeFileSync(file, JSON.stringify(config));
    const child = spawn(process.execPath, ['dist/cli.js', 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    t.teardown(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const store = new RedisStore({ url: redis.url, prefix: key });
    t.teardown(() => store.close());
    await store.load(); // connects
    await waitFor(async () => (await store.connection.run(['GET', `${key}:svc:default:leader`])) === 'leader', `the child leads (${output})`, 15_000);

    const survivor = await replica(t, redis.url, up, 'survivor', { prefix: key, fleet: { leaseMs, heartbeatMs: 200 } }, { background: true });
    t.equal(survivor.app.fleet!.lease.held, false, 'the survivor is not the leader yet');
    const created = await survivor.api('/api/v1/rollouts', {
      method: 'POST',
      body: JSON.stringify({
        steps: [{ weight: 10, holdSeconds: 1 }, { weight: 30, holdSeconds: 1 }, { weight: 60, holdSeconds: 1 }],
        analysis: { intervalSeconds: 0.2, minRequests: 0, maxErrorRate: 0.5, maxP99Ms: 10_000, maxP99Ratio: 100 },
        onSuccess: 'promote',
      }),
    });
    t.equal(created.status, 201);
    t.match(await created.json(), { status: 'running', converged: { applied: 2, replicas: 2 } }, 'the leader applied the start before the answer');

    const actions = async () => (await store.events(100)).reverse().map((e) => ({ action: e.action, replica: (e as { replica?: string }).replica, weight: e.to.weight }));
    await waitFor(async () => (await actions()).some((e) => e.action === 'rollout.step'), 'the leader advanced one step', 15_000);
    child.kill('SIGKILL');
    await once(child, 'exit');
    const afterKill = (await actions()).length;

    await waitFor(() => survivor.app.fleet!.lease.held, 'the survivor took the lease', 5_000);
    await waitFor(async () => (await actions()).some((e) => e.action === 'rollout.promote'), 'the survivor promoted', 15_000);
    const log = await actions();
    t.same(log.map((e) => e.action), ['rollout.start', 'rollout.step', 'rollout.step', 'rollout.promote'], 'each step and the promote exactly once');
    t.same(log.map((e) => e.weight), [10, 30, 60, 0]);
    t.equal(log[0]?.replica, 'survivor', 'started through the survivor');
    t.equal(log[1]?.replica, 'leader', 'the first step by the leader');
    t.ok(log.slice(afterKill).every((e) => e.replica === 'survivor'), 'everything after the kill by the survivor');
    t.match(survivor.app.state.state, { active: 'green', weight: 0 });
    t.equal(survivor.app.rollouts.current()?.status, 'promoted');
  });
}
