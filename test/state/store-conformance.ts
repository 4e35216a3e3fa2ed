// One conformance suite for every StateStore (DESIGN §9, hono's common.case.test.ts pattern):
// memory-store.test.ts and file-store.test.ts run it. A "location" is one place state lives
// (a MemoryStorage, a file path); opening it twice is what a restart looks like.
import type { Test } from 'tap';
import { toWeight } from '../../src/domain.ts';
import type { Clock } from '../../src/domain.ts';
import type { AuditEvent, RoutingState } from '../../src/state/model.ts';
import { initialState } from '../../src/state/model.ts';
import { StateManager } from '../../src/state/manager.ts';
import type { StateStore } from '../../src/state/store.ts';

export interface StoreLocation {
  open(options?: { maxEvents?: number }): StateStore;
}

export interface StoreHarness {
  readonly name: string;
  /** A fresh, empty location for one test. */
  location(t: Test): StoreLocation;
}

const AT = '2026-01-01T00:00:00.000Z';

export function event(version: number, over: Partial<AuditEvent> = {}): AuditEvent {
  return { at: AT, version, action: 'weight', from: { active: 'blue', weight: toWeight(0) }, to: { active: 'blue', weight: toWeight(version % 100) }, actor: 'test', reason: '', ...over };
}

export function state(version: number, over: Partial<RoutingState> = {}): RoutingState {
  return { ...initialState({ active: 'blue', weight: 0 }, AT), version, weight: toWeight(version % 100), ...over };
}

/** A clock tests move by hand. */
export function manualClock(start = Date.parse(AT)): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, advance: (ms) => void (now += ms) };
}

export function storeConformance(t: Test, harness: StoreHarness): void {
  t.test(`${harness.name}: an empty store loads null and has no events`, async (t) => {
    const store = harness.location(t).open();
    t.equal(await store.load(), null);
    t.same(await store.events(10), []);
    await store.close();
  });

  t.test(`${harness.name}: save then load, in the same store and after reopening`, async (t) => {
    const where = harness.location(t);
    const store = where.open();
    await store.load();
    const s1 = state(1, { rollout: { status: 'running', step: 1, steps: [{ weight: 5, holdSeconds: 30 }] } });
    await store.save(s1, [event(1)]);
    await store.save(state(2), [event(2), event(3)]);
    t.same(await store.load(), { state: state(2), events: [event(1), event(2), event(3)] });
    await store.close();
    const again = where.open();
    t.same(await again.load(), { state: state(2), events: [event(1), event(2), event(3)] });
    await again.save(s1, [event(4)]);
    t.same((await again.load())?.state.rollout, s1.rollout, 'the opaque rollout is persisted as-is');
    await again.close();
  });

  t.test(`${harness.name}: events(limit) is newest first`, async (t) => {
    const store = harness.location(t).open();
    await store.load();
    for (let v = 1; v <= 5; v++) await store.save(state(v), [event(v)]);
    t.same((await store.events(3)).map((e) => e.version), [5, 4, 3]);
    t.same((await store.events(100)).map((e) => e.version), [5, 4, 3, 2, 1]);
    t.same(await store.events(0), []);
    t.same(await store.events(-1), []);
    await store.close();
  });

  t.test(`${harness.name}: events are bounded; the newest are kept`, async (t) => {
    const where = harness.location(t);
    const store = where.open({ maxEvents: 5 });
    await store.load();
    for (let v = 1; v <= 8; v++) await store.save(state(v), [event(v)]);
    t.same((await store.events(100)).map((e) => e.version), [8, 7, 6, 5, 4]);
    await store.close();
    const again = where.open({ maxEvents: 5 });
    t.same((await again.load())?.events.map((e) => e.version), [4, 5, 6, 7, 8]);
    await again.close();
  });

  t.test(`${harness.name}: what was saved cannot be changed through the caller's objects`, async (t) => {
    const store = harness.location(t).open();
    await store.load();
    const s = { ...state(1), rollout: { step: 1 } };
    const e = { ...event(1) };
    await store.save(s, [e]);
    s.rollout.step = 99;
    (e as { actor: string }).actor = 'mallory';
    const loaded = await store.load();
    t.same(loaded?.state.rollout, { step: 1 });
    t.equal(loaded?.events[0]?.actor, 'test');
    await store.close();
  });

  t.test(`${harness.name}: save after close rejects`, async (t) => {
    const store = harness.location(t).open();
    await store.load();
    await store.close();
    await t.rejects(store.save(state(1), [event(1)]));
  });

  // The manager on this store: the properties the admin API relies on.

  t.test(`${harness.name}: manager seeds a first start and persisted state wins afterwards`, async (t) => {
    const where = harness.location(t);
    const m1 = await StateManager.open({ store: where.open(), seed: { active: 'green', weight: 5 }, clock: manualClock() });
    t.match(m1.state, { version: 0, active: 'green', weight: 5 });
    await m1.setWeight(20, { actor: 'a' });
    await m1.flip({ actor: 'b', reason: 'ship it' });
    await m1.close();
    const m2 = await StateManager.open({ store: where.open(), seed: { active: 'blue', weight: 0 }, clock: manualClock() });
    t.match(m2.state, { version: 2, active: 'blue', weight: 0 }, 'the persisted state, not the new seed');
    t.same(
      (await m2.events(10)).map((e) => [e.version, e.action, e.actor, e.reason]),
      [[2, 'flip', 'b', 'ship it'], [1, 'weight', 'a', '']],
    );
    await m2.rollback({ actor: 'c' });
    t.match(m2.state, { version: 3, active: 'green', weight: 0 }, 'the flip recorded before the restart can be undone');
    await m2.close();
  });

  t.test(`${harness.name}: 20 concurrent writers`, async (t) => {
    const where = harness.location(t);
    const m = await StateManager.open({ store: where.open(), seed: { active: 'blue', weight: 0 } });
    const weights = Array.from({ length: 20 }, (_, i) => i + 1);
    const results = await Promise.all(weights.map((w) => m.setWeight(w, { actor: `writer-${w}` })));
    t.same(results.map((r) => r.version).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1), 'each write got its own version');
    const events = await m.events(100);
    t.same(events.map((e) => e.version), Array.from({ length: 20 }, (_, i) => 20 - i), 'versions strictly sequential, none lost');
    for (let i = 0; i < events.length - 1; i++) {
      t.same(events[i]?.from, events[i + 1]?.to, `event ${events[i]?.version} starts where ${events[i + 1]?.version} ended`);
    }
    t.equal(new Set(events.map((e) => e.actor)).size, 20, 'every writer is in the log');
    t.ok(weights.includes(m.state.weight), 'the final state is one of the writes');
    t.equal(m.state.weight, events[0]?.to.weight, 'and it is the last committed');
    await m.close();
    const reopened = await StateManager.open({ store: where.open(), seed: { active: 'blue', weight: 0 } });
    t.same(reopened.state, m.state, 'the same after reopening');
    await reopened.close();
  });
}
