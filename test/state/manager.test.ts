import t from 'tap';
import { toWeight } from '../../src/domain.ts';
import { TurnoutError } from '../../src/errors.ts';
import { StateManager } from '../../src/state/manager.ts';
import { MemoryStore } from '../../src/state/memory-store.ts';
import type { AuditEvent, RoutingState } from '../../src/state/model.ts';
import type { StateStore } from '../../src/state/store.ts';
import { manualClock } from './store-conformance.ts';

const seed = { active: 'blue' as const, weight: 0 };

/** A memory store whose saves wait until the test releases them (or fail on demand). */
class GatedStore extends MemoryStore {
  gate: { release(): void; fail(err: Error): void } | null = null;
  #armed = false;
  arm(): void {
    this.#armed = true;
  }
  override async save(state: RoutingState, events: readonly AuditEvent[]): Promise<void> {
    if (this.#armed) {
      this.#armed = false;
      await new Promise<void>((resolve, reject) => {
        this.gate = { release: resolve, fail: reject };
      });
    }
    return super.save(state, events);
  }
}

t.test('a change is published only after the store write completes', async (t) => {
  const store = new GatedStore();
  const m = await StateManager.open({ store, seed });
  const seen: number[] = [];
  m.onChange((s) => seen.push(s.version));
  const before = m.snapshot;
  store.arm();
  let resolved = false;
  const pending = m.setWeight(50, { actor: 't' }).then((s) => ((resolved = true), s));
  await new Promise((r) => setImmediate(r));
  t.ok(store.gate, 'the write is in flight');
  t.equal(m.snapshot, before, 'the old snapshot is still served');
  t.equal(resolved, false, 'the caller has no answer yet');
  t.same(seen, [], 'no listener yet');
  store.gate?.release();
  const s = await pending;
  t.equal(s.weight, 50);
  t.not(m.snapshot, before, 'swapped whole');
  t.same(m.snapshot, { version: 1, active: 'blue', canary: 'green', weight: 50, threshold: 500_000, shadowPercent: 0 });
  t.ok(Object.isFrozen(m.snapshot) && Object.isFrozen(m.state));
  t.same(seen, [1]);
});

t.test('a failed store write changes nothing and the queue carries on', async (t) => {
  const store = new GatedStore();
  const m = await StateManager.open({ store, seed });
  let calls = 0;
  m.onChange(() => calls++);
  store.arm();
  const failing = m.setWeight(50, { actor: 't' });
  const next = m.setWeight(7, { actor: 't' });
  await new Promise((r) => setImmediate(r));
  store.gate?.fail(new Error('disk full'));
  await t.rejects(failing, { message: 'disk full' });
  t.match(await next, { version: 1, weight: 7 }, 'the next change takes the version the failed one did not use');
  t.equal(calls, 1);
});

t.test('If-Match: a stale version is 412 and changes nothing', async (t) => {
  const m = await StateManager.open({ store: new MemoryStore(), seed });
  await m.setWeight(5, { actor: 't', ifMatch: 0 });
  const err = await m.setWeight(6, { actor: 't', ifMatch: 0 }).catch((e: unknown) => e as TurnoutError);
  t.equal(err instanceof TurnoutError && err.statusCode, 412);
  t.match(m.state, { version: 1, weight: 5 });
  t.same((await m.events(10)).length, 1);
  await m.flip({ actor: 't', ifMatch: 1 });
  t.equal(m.state.version, 2);
});

t.test('a transition that throws changes nothing', async (t) => {
  const m = await StateManager.open({ store: new MemoryStore(), seed });
  await t.rejects(m.rollback({ actor: 't' }), { code: 'TURNOUT_ERR_CONFLICT' });
  await t.rejects(
    m.commit(() => {
      throw new TurnoutError('TURNOUT_ERR_CONFLICT', 'a rollout is already running');
    }, { actor: 'rollout' }),
    { statusCode: 409, message: 'a rollout is already running' },
  );
  t.equal(m.state.version, 0);
  t.same(await m.events(10), []);
});

t.test('commit(): generic transitions for the rollout controller', async (t) => {
  const clock = manualClock();
  const m = await StateManager.open({ store: new MemoryStore(), seed, clock });
  clock.advance(1000);
  const s = await m.commit(
    (current) => ({
      state: { ...current, weight: toWeight(5), rollout: { status: 'running', step: 0 } },
      event: { action: 'rollout.start', actor: 'rollout', reason: 'step 1 of 3' },
    }),
    { actor: 'ignored', reason: 'ignored too' },
  );
  t.same(s.rollout, { status: 'running', step: 0 });
  t.equal(s.updatedAt, '2026-01-01T00:00:01.000Z', 'updatedAt from the injected clock');
  const [e] = await m.events(1);
  t.same(e, {
    at: '2026-01-01T00:00:01.000Z',
    version: 1,
    action: 'rollout.start',
    from: { active: 'blue', weight: 0 },
    to: { active: 'blue', weight: 5 },
    actor: 'rollout',
    reason: 'step 1 of 3',
  }, 'from/to come from the states; the event\'s actor and reason win over meta');
  await m.commit((c) => ({ state: { ...c, version: 1000 }, event: { action: 'rollout.step' } }), { actor: 'ctl', reason: 'hold passed' });
  t.equal(m.state.version, 2, 'the manager owns the version');
  t.match((await m.events(1))[0], { actor: 'ctl', reason: 'hold passed' }, 'meta fills what the event leaves out');
});

t.test('listeners: in commit order, unsubscribe, a throwing one is reported and harmless', async (t) => {
  const reported: unknown[] = [];
  const m = await StateManager.open({ store: new MemoryStore(), seed, onListenerError: (err) => reported.push(err) });
  const got: [number, string][] = [];
  const off = m.onChange((s, e) => got.push([s.version, e.action]));
  m.onChange(() => {
    throw new Error('boom');
  });
  await Promise.all([m.setWeight(1, { actor: 't' }), m.flip({ actor: 't' }), m.rollback({ actor: 't' })]);
  t.same(got, [[1, 'weight'], [2, 'flip'], [3, 'rollback']]);
  t.equal(reported.length, 3);
  off();
  await m.setWeight(2, { actor: 't' });
  t.equal(got.length, 3);
});

t.test('close waits for queued changes; later changes reject', async (t) => {
  const store = new MemoryStore();
  const m = await StateManager.open({ store, seed });
  const pending = m.setWeight(3, { actor: 't' });
  await m.close();
  t.match(await pending, { weight: 3 });
  await t.rejects(m.setWeight(4, { actor: 't' }));
  t.equal(store.storage.state?.weight, 3);
});

t.test('a bad seed is a config error', async (t) => {
  const store: StateStore = new MemoryStore();
  await t.rejects(StateManager.open({ store, seed: { active: 'blue', weight: 150 } }), { code: 'TURNOUT_ERR_CONFIG' });
});
