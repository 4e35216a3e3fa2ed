import t from 'tap';
import { toWeight } from '../../src/domain.ts';
import { TurnoutError } from '../../src/errors.ts';
import type { RoutingState } from '../../src/state/model.ts';
import { flip, freezeState, initialState, MAX_FLIPS, rollback, setWeight, snapshotOf } from '../../src/state/model.ts';

const AT = '2026-01-01T00:00:00.000Z';
const base = (over: Partial<RoutingState> = {}): RoutingState => ({ ...initialState({ active: 'blue', weight: 0 }, AT), ...over });

t.test('setWeight', async (t) => {
  const table: [number, boolean][] = [[0, true], [8, true], [12.3456, true], [100, true], [100.5, false], [-1, false], [1.23456, false], [NaN, false]];
  for (const [weight, ok] of table) {
    if (ok) {
      const r = setWeight(base(), weight);
      t.equal(r.state.weight, weight, `weight ${weight}`);
      t.equal(r.state.active, 'blue');
      t.equal(r.event.action, 'weight');
    } else {
      t.throws(() => setWeight(base(), weight), { code: 'TURNOUT_ERR_BAD_REQUEST' }, `weight ${weight} rejected`);
    }
  }
});

t.test('flip: idle colour becomes active with weight 0, flip remembered', async (t) => {
  const r = flip(base({ weight: toWeight(30), version: 4 }));
  t.equal(r.state.active, 'green');
  t.equal(r.state.weight, 0);
  t.same(r.state.flips, [{ version: 5, from: { active: 'blue', weight: 30 } }]);
  t.equal(r.event.action, 'flip');
});

t.test('flips stay bounded', async (t) => {
  let s = base();
  for (let i = 0; i < MAX_FLIPS + 20; i++) s = { ...flip(s).state, version: s.version + 1 };
  t.equal(s.flips.length, MAX_FLIPS);
  t.equal(s.flips[0]?.version, 21, 'the oldest were dropped');
});

t.test('rollback (CONTRACT §4)', async (t) => {
  const cases: { name: string; state: RoutingState; active?: string; weight?: number; flips?: number; conflict?: boolean }[] = [
    { name: 'weight > 0 → 0, flips untouched', state: base({ weight: toWeight(8), flips: [{ version: 1, from: { active: 'green', weight: toWeight(0) } }] }), active: 'blue', weight: 0, flips: 1 },
    { name: 'weight 0 → undo last flip', state: base({ active: 'green', flips: [{ version: 1, from: { active: 'blue', weight: toWeight(25) } }] }), active: 'blue', weight: 0, flips: 0 },
    {
      name: 'undoes only the last of several flips',
      state: base({ active: 'blue', flips: [{ version: 1, from: { active: 'blue', weight: toWeight(0) } }, { version: 2, from: { active: 'green', weight: toWeight(0) } }] }),
      active: 'green', weight: 0, flips: 1,
    },
    { name: 'nothing to undo → 409', state: base(), conflict: true },
  ];
  for (const c of cases) {
    if (c.conflict) {
      const err = t.throws(() => rollback(c.state), c.name) as unknown as TurnoutError;
      t.equal(err.statusCode, 409);
      continue;
    }
    const r = rollback(c.state);
    t.equal(r.state.active, c.active, `${c.name}: active`);
    t.equal(r.state.weight, c.weight, `${c.name}: weight`);
    t.equal(r.state.flips.length, c.flips, `${c.name}: flips`);
    t.equal(r.event.action, 'rollback');
  }
});

t.test('flip then rollback twice: back where we started, then 409', async (t) => {
  let s = base({ weight: toWeight(5) });
  s = { ...flip(s).state, version: 1 };
  s = { ...setWeight(s, 10).state, version: 2 };
  s = { ...rollback(s).state, version: 3 };
  t.equal(s.active, 'green');
  t.equal(s.weight, 0);
  s = { ...rollback(s).state, version: 4 };
  t.equal(s.active, 'blue');
  t.equal(s.weight, 0, 'weight stays 0 after undoing a flip');
  t.throws(() => rollback(s), { code: 'TURNOUT_ERR_CONFLICT' });
});

t.test('transitions never mutate their input', async (t) => {
  const s = freezeState(base({ weight: toWeight(8) }));
  setWeight(s, 9);
  flip(s);
  rollback(s);
  t.equal(s.weight, 8);
  t.ok(Object.isFrozen(s) && Object.isFrozen(s.flips));
});

t.test('initialState validates the seed', async (t) => {
  t.throws(() => initialState({ active: 'red' as 'blue', weight: 0 }, AT), { code: 'TURNOUT_ERR_CONFIG', message: /routing\.active/ });
  t.throws(() => initialState({ active: 'blue', weight: 101 }, AT), { code: 'TURNOUT_ERR_CONFIG', message: /routing\.canaryWeight/ });
  t.same(initialState({ active: 'green', weight: 5 }, AT), { version: 0, active: 'green', weight: 5, updatedAt: AT, flips: [], rollout: null });
});

t.test('freezeState normalises through JSON and freezes deeply', async (t) => {
  const rollout = { status: 'running', steps: [{ weight: 5 }], when: undefined };
  const s = freezeState(base({ rollout }));
  t.not(s.rollout, rollout, 'a copy: the caller keeps its object');
  t.same(s.rollout, { status: 'running', steps: [{ weight: 5 }] });
  t.ok(Object.isFrozen((s.rollout as { steps: object[] }).steps[0]));
  t.same(snapshotOf(s), { version: 0, active: 'blue', canary: 'green', weight: 0, threshold: 0, shadowPercent: 0 });
});
