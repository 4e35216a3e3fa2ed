// Progressive rollouts end to end (issue 5), the canaries that go through: a healthy green is
// promoted, and a restart mid-rollout resumes it. Whole app, real upstreams, paced traffic; see e2e-helpers.ts.
import t from 'tap';
import { createMemoryStorage, MemoryStore } from '../../src/state/memory-store.ts';
import { startApp } from '../helpers/app.ts';
import { analysis, config, current, start, traffic, until, upstreams, waitFor } from './e2e-helpers.ts';

t.test('a healthy green is walked through every step and promoted', async (t) => {
  const { blue, green } = await upstreams(t);
  const turnout = await startApp(t, config(blue, green));
  const load = traffic(t, turnout.proxy);
  await start(turnout, { steps: [{ weight: 25, holdSeconds: 1 }, { weight: 100, holdSeconds: 0 }], analysis });

  const done = await waitFor('promotion', until(turnout, (r) => r.status !== 'running'));
  t.equal(done.status, 'promoted', done.reason);
  t.ok(done.analysis.length >= 2 && done.analysis.every((v) => v.result !== 'fail'));
  const state = (await (await turnout.api('/api/v1/state')).json()) as { active: string; canary: { weight: number }; rollout: { status: string } };
  t.match(state, { active: 'green', canary: { weight: 0 }, rollout: { status: 'promoted' } });
  const events = (await (await turnout.api('/api/v1/events?limit=10')).json()) as { action: string }[];
  t.same(events.map((e) => e.action).reverse(), ['rollout.start', 'rollout.step', 'rollout.promote']);

  // After the promotion every new request lands on green.
  const greenBefore = green.seen.length;
  const blueBefore = blue.seen.length;
  await waitFor('green traffic', async () => (green.seen.length > greenBefore + 20 ? true : undefined));
  t.ok(blue.seen.length - blueBefore <= 4, 'blue gets at most the requests in flight at the flip');
  await load.stop();
  t.equal(load.seen.status5xx, 0);
});


t.test('a restart mid-rollout resumes it in the same status, at the same step, with the same routing', async (t) => {
  const { blue, green } = await upstreams(t);
  const storage = createMemoryStorage();
  const first = await startApp(t, config(blue, green), { store: new MemoryStore({ storage }) });
  const load1 = traffic(t, first.proxy);
  await start(first, { steps: [{ weight: 10, holdSeconds: 0 }, { weight: 40, holdSeconds: 3600 }, { weight: 100, holdSeconds: 0 }], analysis });
  const moved = await waitFor('step 2', until(first, (r) => r.step === 1 || r.status !== 'running'));
  t.match(moved, { status: 'running', step: 1 }, moved.reason);
  await load1.stop();
  await first.app.close();

  const restartedAt = new Date().toISOString();
  const second = await startApp(t, config(blue, green), { store: new MemoryStore({ storage }) });
  const resumed = await current(second);
  t.match(resumed, { status: 'running', step: 1, weight: 40 });
  t.equal(second.app.state.snapshot.weight, 40);
  const greenBefore = green.seen.length;
  const load2 = traffic(t, second.proxy);
  await waitFor('fresh analyses after the restart', until(second, (r) => r.analysis.some((v) => v.result === 'pass' && v.at >= restartedAt)));
  t.match(await current(second), { status: 'running', step: 1 }, 'the 3600 s hold still holds');
  t.ok(green.seen.length > greenBefore, 'the canary gets traffic again after the restart');

  const paused = await second.api('/api/v1/rollouts/current/pause', { method: 'POST' });
  t.equal(paused.status, 200);
  await load2.stop();
  await second.app.close();
  const third = await startApp(t, config(blue, green), { store: new MemoryStore({ storage }) });
  t.match(await current(third), { status: 'paused', step: 1, weight: 40 });
});
