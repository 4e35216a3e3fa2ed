// CONTRACT §9's dynamic part: the shadow percent is state (seeded from the config, changed by an
// audited `shadow` commit, persisted, loaded back), and state files written before it still load.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateManager } from '../../src/state/manager.ts';
import { MemoryStore } from '../../src/state/memory-store.ts';
import { FileStore } from '../../src/state/file-store.ts';
import { setShadow, initialState } from '../../src/state/model.ts';
import { TurnoutError } from '../../src/errors.ts';

const seed = { active: 'blue' as const, weight: 0 };

t.test('setShadow: valid percents, and bad ones refused', async (t) => {
  const s = initialState(seed, '2026-01-01T00:00:00.000Z');
  t.same(setShadow(s, 12.5).state.shadow, { percent: 12.5 });
  t.equal(setShadow(s, 0).event.action, 'shadow');
  for (const bad of [-1, 101, Number.NaN, 1.00001, '5' as unknown as number]) {
    t.throws(() => setShadow(s, bad), TurnoutError, String(bad));
  }
});

t.test('the config seed applies until a commit sets the percent; the commit is audited and persisted', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'state.json');
  const m = await StateManager.open({ store: new FileStore(path), seed: { ...seed, shadowPercent: 5 } });
  t.equal(m.snapshot.shadowPercent, 5, 'seed');
  await m.setShadow(40, { actor: 'ops', reason: 'try green' });
  t.equal(m.snapshot.shadowPercent, 40);
  const [event] = await m.events(1);
  t.match(event, { action: 'shadow', actor: 'ops', reason: 'try green' });
  await m.close();
  const again = await StateManager.open({ store: new FileStore(path), seed: { ...seed, shadowPercent: 5 } });
  t.equal(again.snapshot.shadowPercent, 40, 'persisted state wins over the seed');
  await again.close();
});

t.test('a state file without `shadow` (written before §9) loads, with the seed or 0', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'state.json');
  const state = { version: 3, active: 'green', weight: 0, updatedAt: '2026-01-01T00:00:00.000Z', flips: [], rollout: null };
  writeFileSync(path, JSON.stringify({ format: 'turnout-state/1', state, events: [] }));
  const m = await StateManager.open({ store: new FileStore(path), seed });
  t.equal(m.snapshot.version, 3);
  t.equal(m.snapshot.shadowPercent, 0);
  await m.close();
});

t.test('a memory store round-trips the percent', async (t) => {
  const store = new MemoryStore();
  const m = await StateManager.open({ store, seed });
  await m.setShadow(100, { actor: 'admin' });
  t.same((await store.load())?.state.shadow, { percent: 100 });
});
