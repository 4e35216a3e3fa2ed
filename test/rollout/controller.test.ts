// The controller as a state machine, driven by a manual clock and tick(): no timers, no sleeping.
import t from 'tap';
import { recordOf } from '../../src/rollout/record.ts';
import { RolloutController } from '../../src/rollout/controller.ts';
import { StateManager } from '../../src/state/manager.ts';
import { createMemoryStorage, MemoryStore } from '../../src/state/memory-store.ts';
import type { AuditEvent, RoutingState } from '../../src/state/model.ts';
import { FakeWindows } from './harness.ts';
import { admin, harness, steps, T0 } from './harness.ts';

const analysis = { intervalSeconds: 10, minRequests: 20, maxErrorRate: 0.02, maxP99Ms: 800, maxP99Ratio: 1.5 };

t.test('a healthy canary walks every step after its hold and a passing analysis, then is promoted', async (t) => {
  const h = await harness(t);
  const view = await h.controller.create({ steps: steps('5:30,25:60,100:0'), analysis, onSuccess: 'promote' }, admin);
  t.match(view, { id: 'r1', status: 'running', step: 0, weight: 5, canary: 'green', stable: 'blue', analysis: [] });
  t.equal(h.state.state.weight, 5);

  await h.at(5);
  t.equal(h.windows.calls.length, 0, 'no analysis before the first interval');
  await h.at(10);
  t.equal(h.controller.current()?.analysis.at(-1)?.result, 'pass');
  t.equal(h.state.state.weight, 5, 'hold of 30 s not over');
  await h.at(20);
  await h.at(30);
  t.equal(h.state.state.weight, 25, 'hold passed and the analysis at 30 s passed → step 2');
  t.equal(h.controller.current()?.step, 1);

  await h.at(35);
  await h.at(40);
  t.equal(h.state.state.weight, 25, 'an analysis passed but the 60 s hold did not');
  for (let s = 50; s <= 80; s += 10) await h.at(s);
  t.equal(h.state.state.weight, 25);
  await h.at(90);
  t.equal(h.state.state.weight, 100, 'step 3');
  await h.at(95);
  t.equal(h.state.state.active, 'blue', 'no analysis yet at this step');
  await h.at(100);
  t.equal(h.state.state.active, 'green', 'promoted: a flip');
  t.equal(h.state.state.weight, 0);
  const done = h.controller.current();
  t.match(done, { status: 'promoted', step: 2, weight: 100 });
  t.ok(done!.analysis.length >= 8, 'verdicts kept');
  t.same(
    h.events.map((e) => [e.action, e.actor, e.to.active, e.to.weight]),
    [
      ['rollout.start', 'admin', 'blue', 5],
      ['rollout.step', 'rollout', 'blue', 25],
      ['rollout.step', 'rollout', 'blue', 100],
      ['rollout.promote', 'rollout', 'green', 0],
    ],
  );
  t.same(h.events.map((e) => e.version), [1, 2, 3, 4], 'one version per transition, none per analysis');
  t.equal(recordOf(h.state.state)?.analysisHistory.length, done!.analysis.length, 'verdicts persisted with the last transition');
  t.same(h.state.state.flips.at(-1)?.from, { active: 'blue', weight: 100 }, 'rollback can undo the promotion');

  // Both colours are read over the same span; the span covers the step, at least one interval.
  const spans = h.windows.calls.map((c) => c.spanSeconds);
  t.ok(spans.every((s) => s !== undefined && s >= 10 && s <= 60), `spans ${spans.join(',')}`);
  t.same(h.windows.calls.slice(0, 2).map((c) => c.colour), ['green', 'blue']);
});

t.test('a failing analysis aborts in the same tick: weight 0 and a reason naming the metric', async (t) => {
  const h = await harness(t);
  await h.controller.create({ steps: steps('10:60,50:60'), analysis }, admin);
  h.windows.set('green', { requests: 100, errors: 30 });
  await h.at(10);
  t.equal(h.state.state.weight, 0);
  const view = h.controller.current()!;
  t.equal(view.status, 'aborted');
  t.match(view.reason, /^errorRate: canary 0\.3 \(30\/100\), stable 0 \(0\/1000\)/);
  const abort = h.events.at(-1)!;
  t.equal(abort.action, 'rollout.abort');
  t.equal(abort.actor, 'rollout');
  t.match(abort.reason, /errorRate/);
  t.same(abort.to, { active: 'blue', weight: 0 });
  await h.at(20);
  t.equal(h.events.length, 2, 'an aborted rollout does nothing more');
});

t.test('a latency regression aborts on the ratio to stable', async (t) => {
  const h = await harness(t);
  await h.controller.create({ steps: steps('10:60'), analysis }, admin);
  h.windows.set('green', { p99: 320 });
  await h.at(10);
  t.equal(h.controller.current()?.status, 'aborted');
  t.match(h.controller.current()?.reason, /^p99Ratio: canary 320ms vs stable 20ms/);
});

t.test('too little canary traffic holds the step: inconclusive, neither abort nor advance', async (t) => {
  const h = await harness(t);
  await h.controller.create({ steps: steps('5:0,50:0'), analysis }, admin);
  h.windows.set('green', { requests: 3, errors: 3 });
  for (let s = 10; s <= 300; s += 10) await h.at(s);
  const view = h.controller.current()!;
  t.match(view, { status: 'running', step: 0, weight: 5 });
  t.ok(view.analysis.every((v) => v.result === 'inconclusive'));
  t.match(view.analysis.at(-1)?.reasons[0], /^requests: canary 3 < minRequests 20/);
  t.equal(h.events.length, 1);
  t.equal(view.analysis.length, 20, 'history is bounded');
});

t.test('a step advances only if its LAST analysis passed', async (t) => {
  const h = await harness(t);
  await h.controller.create({ steps: steps('5:20,50:0'), analysis }, admin);
  await h.at(10); // pass
  h.windows.set('green', { requests: 5 });
  await h.at(20); // inconclusive, hold over
  t.equal(h.state.state.weight, 5);
  h.windows.set('green', { requests: 100 });
  await h.at(25);
  t.equal(h.state.state.weight, 5, 'no new analysis yet');
  await h.at(30);
  t.equal(h.state.state.weight, 50);
});

t.test('pause stops analysis and advancing; resume keeps the hold already served', async (t) => {
  const h = await harness(t);
  await h.controller.create({ steps: steps('5:30,50:0'), analysis }, admin);
  await h.at(10);
  h.clock.set(T0 + 15_000);
  const paused = await h.controller.pause({ actor: 'alice', reason: 'looking at logs' });
  t.match(paused, { status: 'paused', reason: 'looking at logs', holdUntil: null });
  const calls = h.windows.calls.length;
  for (let s = 20; s <= 200; s += 10) await h.at(s);
  t.equal(h.windows.calls.length, calls, 'no analysis while paused');
  t.equal(h.state.state.weight, 5, 'weight held while paused');

  h.clock.set(T0 + 200_000);
  const resumed = await h.controller.resume(admin);
  t.equal(resumed.status, 'running');
  t.equal(resumed.holdUntil, new Date(T0 + 215_000).toISOString(), '15 s of the 30 s hold remain');
  await h.at(210);
  t.equal(h.state.state.weight, 5, 'analysis passed, hold not over');
  await h.at(215);
  t.equal(h.state.state.weight, 50, 'hold over and the last analysis (at 210 s, after the resume) passed');
  t.same(
    h.events.map((e) => [e.action, e.actor]),
    [
      ['rollout.start', 'admin'],
      ['rollout.pause', 'alice'],
      ['rollout.resume', 'admin'],
      ['rollout.step', 'rollout'],
    ],
  );
});

t.test('promote skips the remaining steps; abort withdraws the canary; 409 and 404 where the contract says', async (t) => {
  const h = await harness(t);
  await t.rejects(h.controller.pause(admin), { code: 'TURNOUT_ERR_NOT_FOUND' }, 'nothing to pause');
  t.equal(h.controller.current(), null);

  await h.controller.create({ steps: steps('5:30,50:30') }, admin);
  await t.rejects(h.controller.create({ steps: steps('5:30') }, admin), { code: 'TURNOUT_ERR_CONFLICT' }, 'one at a time');
  await t.rejects(h.controller.resume(admin), { code: 'TURNOUT_ERR_CONFLICT' }, 'not paused');
  const promoted = await h.controller.promote(admin);
  t.match(promoted, { status: 'promoted', weight: 100 });
  t.equal(h.state.state.active, 'green');
  for (const action of ['pause', 'resume', 'promote', 'abort'] as const) {
    await t.rejects(h.controller[action](admin), { code: 'TURNOUT_ERR_CONFLICT' }, `${action} after promote`);
  }

  // A new rollout, now with blue as the canary, aborted by hand while paused.
  const second = await h.controller.create({ steps: steps('20:30') }, admin);
  t.match(second, { id: 'r3', canary: 'blue', stable: 'green', weight: 20, analysis: [] });
  await h.controller.pause(admin);
  const aborted = await h.controller.abort({ actor: 'bob', reason: 'bad build' });
  t.match(aborted, { status: 'aborted', reason: 'bad build', weight: 0 });
  t.same({ active: h.state.state.active, weight: h.state.state.weight }, { active: 'green', weight: 0 });
});

t.test('If-Match guards rollout changes', async (t) => {
  const h = await harness(t);
  await t.rejects(h.controller.create({ steps: steps('5:30') }, { actor: 'a', ifMatch: 7 }), { code: 'TURNOUT_ERR_PRECONDITION_FAILED' });
  t.equal(h.controller.current(), null, 'nothing changed');
  await h.controller.create({ steps: steps('5:30') }, { actor: 'a', ifMatch: 0 });
  t.equal(h.state.state.version, 1);
});

t.test('invalid bodies change nothing', async (t) => {
  const h = await harness(t);
  await t.rejects(h.controller.create({ steps: steps('25:30,5:30') }, admin), { code: 'TURNOUT_ERR_BAD_REQUEST', message: /body\.steps\[1\]\.weight/ });
  t.equal(h.state.state.version, 0);
});

t.test('a human flip or rollback during a rollout ends it (the controller does not fight the operator)', async (t) => {
  const h = await harness(t);
  await h.controller.create({ steps: steps('5:30,50:30') }, admin);
  await h.state.rollback({ actor: 'carol' });
  await h.state.commit((s) => ({ state: s, event: { action: 'weight' } }), { actor: 'sync' }); // wait for the queue
  const view = h.controller.current()!;
  t.equal(view.status, 'aborted');
  t.match(view.reason, /superseded by a manual rollback .* by carol/);
  t.equal(h.state.state.weight, 0);

  await h.controller.create({ steps: steps('5:30,50:30') }, admin);
  await h.state.flip({ actor: 'dave' });
  await h.state.commit((s) => ({ state: s, event: { action: 'weight' } }), { actor: 'sync' });
  t.equal(h.controller.current()?.status, 'aborted');
  t.same({ active: h.state.state.active, weight: h.state.state.weight }, { active: 'green', weight: 0 }, 'the flip stands');
});

t.test('a restart resumes a running rollout from persisted absolute times, with a fresh analysis', async (t) => {
  const storage = createMemoryStorage();
  const first = await harness(t, { storage });
  await first.controller.create({ steps: steps('5:30,50:30'), analysis }, admin);
  await first.at(10);
  await first.at(20);
  first.controller.stop();
  await first.state.close();

  // Down for 25 s; the hold (30 s from T0) is over when the process comes back at 45 s.
  const second = await harness(t, { storage, startAt: 45 });
  second.controller.start();
  const view = second.controller.current()!;
  t.match(view, { status: 'running', step: 0, weight: 5, stepStartedAt: new Date(T0).toISOString() });
  t.equal(view.analysis.length, 0, 'verdicts since the last transition were in memory only');
  t.equal(second.state.snapshot.weight, 5, 'routing resumes as persisted');
  await second.at(46);
  t.equal(second.state.state.weight, 5, 'no analysis since the restart yet');
  await second.at(55);
  t.equal(second.state.state.weight, 50, 'hold measured from the persisted start; fresh analysis passed');
});

t.test('a paused rollout stays paused after a restart', async (t) => {
  const storage = createMemoryStorage();
  const first = await harness(t, { storage });
  await first.controller.create({ steps: steps('5:30,50:30'), analysis }, admin);
  await first.at(10);
  await first.controller.pause(admin);
  first.controller.stop();
  await first.state.close();

  const second = await harness(t, { storage, startAt: 500 });
  second.controller.start();
  t.match(second.controller.current(), { status: 'paused', step: 0, weight: 5 });
  t.equal(second.controller.current()?.analysis.length, 1, 'the verdict was persisted with the pause');
  await second.at(600);
  t.equal(second.controller.current()?.status, 'paused');
  t.equal(second.events.length, 0);
});

t.test('if the store refuses the abort, the next tick judges again and aborts', async (t) => {
  class FlakyStore extends MemoryStore {
    failNext = false;
    override async save(state: RoutingState, events: readonly AuditEvent[]): Promise<void> {
      if (this.failNext) {
        this.failNext = false;
        throw new Error('disk full');
      }
      return super.save(state, events);
    }
  }
  let now = T0;
  const clock = { now: () => now };
  const store = new FlakyStore();
  const state = await StateManager.open({ store, seed: { active: 'blue', weight: 0 }, clock });
  const windows = new FakeWindows();
  const controller = new RolloutController({ state, windows, clock });
  t.teardown(() => state.close());
  await controller.create({ steps: steps('10:60'), analysis }, admin);
  windows.set('green', { requests: 100, errors: 50 });
  store.failNext = true;
  now = T0 + 10_000;
  await t.rejects(controller.tick(), { message: 'disk full' });
  t.equal(state.state.weight, 10, 'nothing changed');
  now = T0 + 11_000;
  await controller.tick();
  t.equal(state.state.weight, 0, 'aborted one tick later, not one interval later');
  t.equal(controller.current()?.status, 'aborted');
});

t.test('a persisted running rollout whose stable colour is no longer active is ended, routing untouched', async (t) => {
  const storage = createMemoryStorage();
  const first = await harness(t, { storage });
  await first.controller.create({ steps: steps('5:30,50:30'), analysis }, admin);
  first.controller.stop(); // no listener: as if the process died between a manual flip and the abort
  await first.state.flip({ actor: 'ops' });
  await first.state.close();

  const second = await harness(t, { storage, startAt: 5 });
  second.controller.start();
  await second.at(6);
  t.match(second.controller.current(), { status: 'aborted', reason: /active colour is green, not the rollout's stable blue/ });
  t.same({ active: second.state.state.active, weight: second.state.state.weight }, { active: 'green', weight: 0 });
});
