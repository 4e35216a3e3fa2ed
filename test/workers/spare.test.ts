// The warm-spare policy (src/workers/spare.ts), pure: which spare replaces a dead worker, when
// the pool forks another, and that a spare that cannot start is not re-forked in a tight loop.
// The processes themselves are tested in workers.test.ts.
import t from 'tap';
import { SparePool, type SpareCandidate } from '../../src/workers/spare.ts';

interface Fake extends SpareCandidate {
  warm: boolean;
  dead: boolean;
}

function setup(size: number) {
  let n = 0;
  const forked: Fake[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const pool = new SparePool<Fake>({
    size,
    retryMs: 750,
    fork: () => {
      const f: Fake = { id: `s${++n}`, warm: false, dead: false, isDead() { return this.dead; } };
      forked.push(f);
      return f;
    },
    setTimer: (fn, ms) => {
      timers.push({ fn, ms });
      return {};
    },
  });
  return { pool, forked, timers };
}

t.test('fill forks up to size, and no more', async (t) => {
  const { pool, forked } = setup(2);
  pool.fill();
  pool.fill();
  t.equal(forked.length, 2);
  t.same(pool.list().map((s) => s.id), ['s1', 's2']);
});

t.test('size 0: no spare is ever forked and take answers undefined', async (t) => {
  const { pool, forked } = setup(0);
  pool.fill();
  t.equal(pool.take(), undefined);
  t.equal(forked.length, 0);
});

t.test('take prefers a warm spare, skips dead ones, and leaves the refill to the caller', async (t) => {
  const cases: { name: string; states: [warm: boolean, dead: boolean][]; want: string | undefined }[] = [
    { name: 'the warm one over one still loading', states: [[false, false], [true, false]], want: 's2' },
    { name: 'a loading one when none is warm', states: [[false, false], [false, false]], want: 's1' },
    { name: 'never a dead one', states: [[true, true], [false, false]], want: 's2' },
    { name: 'nothing when all are dead', states: [[true, true], [true, true]], want: undefined },
  ];
  for (const c of cases) {
    const { pool, forked } = setup(2);
    pool.fill();
    c.states.forEach(([warm, dead], i) => Object.assign(forked[i]!, { warm, dead }));
    t.equal(pool.take()?.id, c.want, c.name);
    t.equal(forked.length, 2, `${c.name}: no fork on the replacement's path`);
    pool.fill();
    // A dead spare stays counted until the supervisor reports its exit (died()).
    t.equal(pool.list().length, 2, `${c.name}: refilled by fill()`);
  }
});

t.test('a spare that dies warm is replaced at once; one that dies loading after retryMs', async (t) => {
  const { pool, forked, timers } = setup(1);
  pool.fill();
  forked[0]!.warm = true;
  pool.died(forked[0]!, true);
  t.equal(forked.length, 2, 'warm spare died: another forked at once');
  pool.died(forked[1]!, false);
  t.equal(forked.length, 2, 'died before warm (a start failure): not re-forked at once');
  pool.fill();
  t.equal(forked.length, 2, 'nor by fill() while waiting');
  t.same(timers.map((x) => x.ms), [750]);
  timers[0]!.fn();
  t.equal(forked.length, 3, 'forked again after retryMs');
});

t.test('after stop nothing is forked; a taken spare dying is not the pool’s business', async (t) => {
  const { pool, forked } = setup(1);
  pool.fill();
  const taken = pool.take()!;
  pool.died(taken, true);
  t.equal(forked.length, 1, 'a spare already taken is a worker now: the supervisor replaces it');
  pool.stop();
  pool.fill();
  t.equal(forked.length, 1);
});
