import t from 'tap';
import { isValidWeight, otherColour, weightThreshold } from '../../src/domain.ts';

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
  t.equal(weightThreshold(8), 80_000);
  t.equal(weightThreshold(0.0001), 1);
  t.equal(weightThreshold(100), 1_000_000);
});
