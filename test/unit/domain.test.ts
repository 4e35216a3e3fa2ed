import t from 'tap';
import { FULL_WEIGHT, isValidWeight, otherColour, toWeight, weightThreshold, ZERO_WEIGHT, type Weight } from '../../src/domain.ts';

t.test('otherColour', async (t) => {
  t.equal(otherColour('blue'), 'green');
  t.equal(otherColour('green'), 'blue');
});

t.test('weights', async (t) => {
  const table: [unknown, boolean][] = [
    [0, true], [100, true], [8, true], [0.5, true], [12.3456, true], [12.34567, false],
    [-1, false], [100.0001, false], ['8', false], [NaN, false], [Infinity, false], [null, false],
  ];
  for (const [value, ok] of table) t.equal(isValidWeight(value), ok, `isValidWeight(${String(value)})`);
  t.equal(weightThreshold(toWeight(8)), 80_000);
  t.equal(weightThreshold(toWeight(0.0001)), 1);
  t.equal(weightThreshold(toWeight(100)), 1_000_000);
});

t.test('the Weight brand has teeth: only a checked number is a Weight', async (t) => {
  // @ts-expect-error a plain number is not a Weight (tsc -p tsconfig.check.json fails if this compiles)
  const unchecked: Weight = 8;
  t.equal(unchecked, 8);
  const n: number = 12.5;
  if (isValidWeight(n)) t.equal(weightThreshold(n), 125_000, 'isValidWeight narrows to Weight');
  t.equal(toWeight(12.3456), 12.3456);
  t.equal(ZERO_WEIGHT, 0);
  t.equal(FULL_WEIGHT, 100);
  for (const bad of [-1, 100.5, 12.34567, NaN]) t.throws(() => toWeight(bad, 'steps[0].weight'), { name: 'RangeError', message: /^steps\[0\]\.weight must be a number 0\.\.100/ });
});
