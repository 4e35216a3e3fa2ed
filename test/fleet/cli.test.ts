// The CLI against a fleet (CONTRACT §6): any replica's `turnout flip` moves every replica and
// says `applied on N/M replicas`, naming the replicas that lag.
import t from 'tap';
import { flipCommand, formatConverged, weightCommand } from '../../src/client/commands.ts';
import type { StateView } from '../../src/admin/state-view.ts';
import { startApp, TEST_TOKEN } from '../helpers/app.ts';
import { redisMissing, startRedis } from '../helpers/redis.ts';
import { colourVia, replica, upstreams } from './harness.ts';

t.test('formatConverged', async (t) => {
  const view = (converged?: StateView['converged']) => ({ converged }) as StateView;
  const table: [StateView['converged'], string][] = [
    [undefined, ''],
    [{ applied: 3, replicas: 3, lagging: [] }, 'applied on 3/3 replicas\n'],
    [{ applied: 1, replicas: 3, lagging: ['b', 'c'] }, 'applied on 1/3 replicas; not yet on b, c\n'],
  ];
  for (const [c, want] of table) t.equal(formatConverged(view(c)), want, JSON.stringify(c));
});

t.test('without a shared store GET /api/v1/fleet lists this process alone', async (t) => {
  const up = await upstreams(t);
  const app = await startApp(t, { upstreams: { blue: { targets: [up.blue.url] }, green: { targets: [up.green.url] } } });
  const body = (await (await app.api('/api/v1/fleet')).json()) as { version: number; replicas: { self: boolean; leader: boolean; appliedVersion: number; workers: number }[] };
  t.match(body, { version: 0, replicas: [{ self: true, leader: true, appliedVersion: 0, workers: 1 }] });
  t.equal(body.replicas.length, 1);
  const flip = (await (await app.api('/api/v1/flip', { method: 'POST' })).json()) as Record<string, unknown>;
  t.notOk('converged' in flip, 'a single process answers without converged');
});

const missing = redisMissing();
if (missing !== null) {
  t.comment(missing);
  t.pass(missing);
} else {
  t.test('turnout flip through one replica flips all three', async (t) => {
    const redis = await startRedis(t);
    const up = await upstreams(t);
    const rs = [await replica(t, redis.url, up, 'r1'), await replica(t, redis.url, up, 'r2'), await replica(t, redis.url, up, 'r3')];
    let out = '';
    const io = { stdout: (s: string) => void (out += s), stderr: (s: string) => void (out += s), env: { TURNOUT_ADMIN_TOKEN: TEST_TOKEN } };
    t.equal(await flipCommand.run(['--admin', rs[1]!.admin], io), 0);
    t.match(out, /flipped: green is active.*\(version 1\)\napplied on 3\/3 replicas\n$/);
    for (const r of rs) t.equal(await colourVia(r), 'green', `${r.app.fleet!.id} routes to green`);
    out = '';
    t.equal(await weightCommand.run(['5', '--admin', rs[2]!.admin], io), 0);
    t.match(out, /applied on 3\/3 replicas/);
  });
}
