// Passive outlier ejection (ColourPool.reportOutcome, CONTRACT §3) with an injected clock:
// consecutive failures eject a target for ejectMs, it returns afterwards, and what does not
// count (hang-ups, the proxy's own 503) leaves the streak alone.
import t from 'tap';
import type { Outcome } from '../../src/domain.ts';
import { ColourPool } from '../../src/upstream/pool.ts';
import type { Target } from '../../src/upstream/target.ts';

interface Change {
  url: string;
  available: boolean;
  why: string;
}

function setup(t: { teardown(fn: () => unknown): void }, outlier = { consecutiveFailures: 3, ejectMs: 10_000 }, urls = ['http://10.0.0.1:3000', 'http://10.0.0.2:3000']) {
  let now = 1_700_000_000_000;
  const clock = { now: () => now, advance: (ms: number) => void (now += ms) };
  const changes: Change[] = [];
  const pool = new ColourPool('blue', urls, {
    clock,
    outlier,
    dispatcher: { connectMs: 1000, responseMs: 1000, connections: 1 },
    onHealthChange: (target, available, why) => changes.push({ url: target.url, available, why }),
  });
  t.teardown(() => pool.close());
  return { pool, clock, changes, a: pool.targets[0]!, b: pool.targets[1]! };
}

/** Which targets n picks in a row return (by index; -1 for none). */
function picks(pool: ColourPool, n: number): number[] {
  return Array.from({ length: n }, () => pool.pick()?.index ?? -1);
}

t.test('which outcome sequences eject (threshold 3)', async (t) => {
  const rows: [string, Outcome[], boolean][] = [
    ['three refused in a row', ['refused', 'refused', 'refused'], true],
    ['mixed failure kinds count together', ['status5xx', 'reset', 'timeout'], true],
    ['two failures are not enough', ['refused', 'refused'], false],
    ['an ok resets the streak', ['refused', 'refused', 'ok', 'refused', 'refused'], false],
    ['a hang-up neither counts nor resets', ['refused', 'client_abort', 'refused', 'client_abort', 'refused'], true],
    ['hang-ups alone never eject', ['client_abort', 'client_abort', 'client_abort', 'client_abort'], false],
    ['no_healthy_target is not the target\'s failure', ['no_healthy_target', 'no_healthy_target', 'no_healthy_target'], false],
    ['ok then three failures', ['ok', 'status5xx', 'status5xx', 'status5xx'], true],
  ];
  for (const [name, outcomes, ejected] of rows) {
    const { pool, a, changes } = setup(t);
    for (const o of outcomes) pool.reportOutcome(a, o);
    t.equal(a.available, !ejected, `${name}: available`);
    t.equal(changes.length, ejected ? 1 : 0, `${name}: changes reported`);
    if (ejected) t.match(changes[0]!.why, /ejected after 3 consecutive failures/, `${name}: the reason`);
  }
});

t.test('an ejected target gets no traffic for ejectMs, then returns', async (t) => {
  const { pool, clock, changes, a, b } = setup(t);
  t.same(picks(pool, 4), [0, 1, 0, 1], 'round robin over both');
  for (let i = 0; i < 3; i++) pool.reportOutcome(a, 'refused');
  t.equal(a.available, false);
  t.same(picks(pool, 4), [1, 1, 1, 1], 'only b while a is ejected');
  t.equal(pool.hasAvailable(), true);

  clock.advance(9_999);
  t.same(picks(pool, 2), [1, 1], 'still ejected 1 ms before the end');
  clock.advance(1);
  const after = picks(pool, 4);
  t.ok(after.includes(0), `a is picked again once ejectMs passed: ${after}`);
  t.equal(a.available, true);
  t.same(
    changes.map((c) => [c.url, c.available]),
    [
      [a.url, false],
      [a.url, true],
    ],
  );
  t.equal(changes[1]!.why, 'ejection expired');
  t.equal(a.consecutiveFailures, 0, 'the streak starts over');
  // A single failure after returning does not eject again.
  pool.reportOutcome(a, 'refused');
  t.equal(a.available, true);
  t.ok(b.available);
});

t.test('ejection is capped: ⌊N × maxEjectionPercent / 100⌋, never the last target passing probes', async (t) => {
  // [name, targets, maxEjectionPercent, probe-unhealthy indexes, failing indexes in order, ejected]
  const rows: [string, number, number | undefined, number[], number[], number[]][] = [
    ['a single target is never ejected (default 50 %)', 1, undefined, [], [0], []],
    ['a single target is never ejected, even at 100 %', 1, 100, [], [0], []],
    ['two failing targets of two: only one out (default)', 2, undefined, [], [0, 1], [0]],
    ['three failing of four: two out (default)', 4, undefined, [], [0, 1, 2], [0, 1]],
    ['three failing of four at 100 %: three out, the good one serves', 4, 100, [], [0, 1, 2], [0, 1, 2]],
    ['all four failing at 100 %: the last passing its probes stays', 4, 100, [], [0, 1, 2, 3], [0, 1, 2]],
    ['the other target fails its probes: this one stays', 2, 100, [1], [0], []],
    ['ten failing of ten (default): five out', 10, undefined, [], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [0, 1, 2, 3, 4]],
    ['0 % disables ejection', 3, 0, [], [0, 1], []],
    ['one failing of two (default): ejected', 2, undefined, [], [0], [0]],
  ];
  for (const [name, n, pct, unhealthy, failing, want] of rows) {
    const urls = Array.from({ length: n }, (_, i) => `http://10.0.0.${i + 1}:3000`);
    const outlier = { consecutiveFailures: 3, ejectMs: 10_000, ...(pct === undefined ? {} : { maxEjectionPercent: pct }) };
    const { pool } = setup(t, outlier, urls);
    for (const i of unhealthy) pool.setProbeHealth(pool.targets[i]!, false, 'probe failed');
    for (const i of failing) for (let k = 0; k < 5; k++) pool.reportOutcome(pool.targets[i]!, 'status5xx');
    const ejected = pool.targets.filter((x) => x.ejectedUntil !== 0).map((x) => x.index);
    t.same(ejected, want, `${name}: ejected`);
    t.equal(pool.hasAvailable(), true, `${name}: the colour keeps a target to pick`);
  }
});

t.test('a skipped ejection happens once the cap allows it', async (t) => {
  const { pool, clock, a, b } = setup(t);
  for (const target of [a, b]) for (let i = 0; i < 3; i++) pool.reportOutcome(target, 'timeout');
  t.same([a.available, b.available], [false, true], 'a is out, b stays: the colour still answers');
  t.same(picks(pool, 3), [1, 1, 1]);
  clock.advance(10_000);
  t.same(picks(pool, 2).sort(), [0, 1], 'a is back');
  pool.reportOutcome(b, 'timeout');
  t.same([a.available, b.available], [true, false], 'b, still failing, is ejected at its next failure');
});

t.test('a single-target colour failing in bursts keeps serving', async (t) => {
  const { pool, a } = setup(t, undefined, ['http://10.0.0.1:3000']);
  for (let burst = 0; burst < 10; burst++) {
    for (let i = 0; i < 5; i++) pool.reportOutcome(a, 'status5xx');
    pool.reportOutcome(a, 'ok');
  }
  t.equal(a.available, true);
  t.equal(pool.pick(), a);
});

t.test('an ejection that expires while the probe says unhealthy keeps the target out', async (t) => {
  const { pool, clock, a } = setup(t);
  for (let i = 0; i < 3; i++) pool.reportOutcome(a, 'refused');
  pool.setProbeHealth(a, false, 'probe failed');
  clock.advance(10_000);
  t.same(picks(pool, 3), [1, 1, 1]);
  pool.setProbeHealth(a, true, 'probe passed');
  t.ok(picks(pool, 2).includes(0), 'back once the probe passes and the ejection is over');
});

t.test('retry pick excludes the failed target and keeps the rotation', async (t) => {
  const { pool, a, b } = setup(t, undefined, ['http://10.0.0.1:3000', 'http://10.0.0.2:3000', 'http://10.0.0.3:3000']);
  t.equal(pool.pick()?.index, 0);
  t.equal(pool.pick(a)?.index, 1, 'the retry goes elsewhere');
  t.equal(pool.pick()?.index, 1, 'and the next fresh request takes its normal turn');
  t.ok(b);
});

t.test('consecutiveFailures 0 disables ejection', async (t) => {
  const { pool, a } = setup(t, { consecutiveFailures: 0, ejectMs: 10_000 });
  for (let i = 0; i < 50; i++) pool.reportOutcome(a, 'refused');
  t.equal(a.available, true);
});
