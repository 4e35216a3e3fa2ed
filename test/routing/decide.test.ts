import t from 'tap';
import { toWeight } from '../../src/domain.ts';
import { randomUUID } from 'node:crypto';
import { decide, overrideColour } from '../../src/routing/decide.ts';
import { bucketOf } from '../../src/routing/bucket.ts';
import { snapshotOf } from '../../src/state/model.ts';
import type { Colour } from '../../src/domain.ts';

const blueAt = (weight: number) => snapshotOf({ version: 1, active: 'blue', weight: toWeight(weight) });
const greenAt = (weight: number) => snapshotOf({ version: 1, active: 'green', weight: toWeight(weight) });
const never = () => {
  throw new Error('random must not be drawn');
};

t.test('decision table', async (t) => {
  const lowKey = findKey((b) => b < 1000); // bucket < 0.1% → canary at any weight ≥ 0.1
  const highKey = findKey((b) => b > 999_000);
  type Row = [string, { h?: string; c?: string; key?: string }, ReturnType<typeof blueAt>, Colour, (() => number)?];
  const rows: Row[] = [
    ['weight 0: active', { key: lowKey }, blueAt(0), 'blue'],
    ['weight 100: canary', { key: highKey }, blueAt(100), 'green'],
    ['low bucket at 8%: canary', { key: lowKey }, blueAt(8), 'green'],
    ['high bucket at 8%: stable', { key: highKey }, blueAt(8), 'blue'],
    ['green active, low bucket: canary is blue', { key: lowKey }, greenAt(8), 'blue'],
    ['override header blue', { h: 'blue', key: lowKey }, blueAt(100), 'blue'],
    ['override header green', { h: 'green' }, blueAt(0), 'green'],
    ['override header canary', { h: 'canary' }, blueAt(0), 'green'],
    ['override header stable', { h: 'stable' }, blueAt(100), 'blue'],
    ['override canary when green active', { h: 'canary' }, greenAt(0), 'blue'],
    ['override cookie', { c: 'green' }, blueAt(0), 'green'],
    ['header wins over cookie', { h: 'blue', c: 'green' }, blueAt(0), 'blue'],
    ['invalid header ignored, cookie used', { h: 'purple', c: 'green' }, blueAt(0), 'green'],
    ['invalid both ignored', { h: 'BLUE', c: '', key: highKey }, blueAt(8), 'blue'],
    ['case matters: Green is not green', { h: 'Green' }, blueAt(0), 'blue'],
    ['no key: random draw below', {}, blueAt(8), 'green', () => 0.05],
    ['no key: random draw above', {}, blueAt(8), 'blue', () => 0.5],
    ['no key at 0.0001%: draw of bucket 0 → canary', {}, blueAt(0.0001), 'green', () => 0],
    ['no key at 0.0001%: draw of bucket 1 → stable', {}, blueAt(0.0001), 'blue', () => 1.5 / 1e6],
  ];
  for (const [name, f, snap, want, random] of rows) {
    const got = decide({ overrideHeader: f.h, overrideCookie: f.c, stickyKey: f.key }, snap, random ?? never);
    t.equal(got, want, name);
  }
});

t.test('override values', async (t) => {
  const s = blueAt(10);
  const table: [string | undefined, Colour | undefined][] = [
    ['blue', 'blue'], ['green', 'green'], ['canary', 'green'], ['stable', 'blue'],
    [undefined, undefined], ['', undefined], ['red', undefined], ['blue ', undefined],
  ];
  for (const [value, want] of table) t.equal(overrideColour(value, s), want, String(value));
});

t.test('split accuracy with sticky keys at 8% and 0.5%', async (t) => {
  const keys = Array.from({ length: 200_000 }, () => randomUUID());
  for (const weight of [8, 0.5]) {
    const snap = blueAt(weight);
    let canary = 0;
    for (const key of keys) if (decide({ overrideHeader: undefined, overrideCookie: undefined, stickyKey: key }, snap, never) === 'green') canary++;
    const share = (canary / keys.length) * 100;
    // 200k draws: the standard error at 8% is 0.06 points, at 0.5% 0.016: allow ~4 sigma.
    t.ok(Math.abs(share - weight) < (weight === 8 ? 0.25 : 0.07), `${weight}% wanted, ${share.toFixed(3)}% observed`);
  }
});

t.test('split accuracy with random draws at 8% and 0.5%', async (t) => {
  for (const weight of [8, 0.5]) {
    const snap = blueAt(weight);
    let canary = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) if (decide({ overrideHeader: undefined, overrideCookie: undefined, stickyKey: undefined }, snap, Math.random) === 'green') canary++;
    const share = (canary / n) * 100;
    t.ok(Math.abs(share - weight) < (weight === 8 ? 0.25 : 0.07), `${weight}% wanted, ${share.toFixed(3)}% observed`);
  }
});

t.test('sticky: the same key always gets the same colour', async (t) => {
  const snap = blueAt(30);
  let mismatches = 0;
  for (let i = 0; i < 5000; i++) {
    const key = `user-${i}`;
    const first = decide({ overrideHeader: undefined, overrideCookie: undefined, stickyKey: key }, snap, never);
    for (let j = 0; j < 3; j++) if (decide({ overrideHeader: undefined, overrideCookie: undefined, stickyKey: key }, snap, never) !== first) mismatches++;
  }
  t.equal(mismatches, 0);
});

t.test('monotonic: raising the weight only moves keys to the canary, lowering only back', async (t) => {
  const keys = Array.from({ length: 10_000 }, (_, i) => `k${i}`);
  const weights = [0, 0.5, 1, 5, 8, 8.1234, 25, 50, 99.9999, 100];
  const colourAt = (w: number) => keys.map((key) => decide({ overrideHeader: undefined, overrideCookie: undefined, stickyKey: key }, blueAt(w), never));
  let previous = colourAt(weights[0]!);
  let badUp = 0;
  for (const w of weights.slice(1)) {
    const now = colourAt(w);
    for (let i = 0; i < keys.length; i++) if (previous[i] === 'green' && now[i] === 'blue') badUp++;
    previous = now;
  }
  t.equal(badUp, 0, 'no key moved from canary back to stable while the weight rose');
  previous = colourAt(100);
  let badDown = 0;
  for (const w of [...weights].reverse().slice(1)) {
    const now = colourAt(w);
    for (let i = 0; i < keys.length; i++) if (previous[i] === 'blue' && now[i] === 'green') badDown++;
    previous = now;
  }
  t.equal(badDown, 0, 'no key moved from stable to canary while the weight fell');
});

function findKey(predicate: (bucket: number) => boolean): string {
  for (let i = 0; ; i++) if (predicate(bucketOf(`key-${i}`))) return `key-${i}`;
}
