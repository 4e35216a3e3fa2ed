// firstOfEach (src/tls/h2-response.ts): repeats of the fields node:http2 allows once are dropped,
// the first value kept; everything else passes as it is, and a list without repeats is returned
// unchanged (the same array). Calls in a row do not leak what the previous one saw.
import t from 'tap';
import { firstOfEach } from '../../src/tls/h2-response.ts';

t.test('firstOfEach keeps the first value of each single-value field', async (t) => {
  const table: [string, string[], string[]][] = [
    ['no repeats', ['content-type', 'text/plain', 'x-a', '1'], ['content-type', 'text/plain', 'x-a', '1']],
    ['a repeated etag', ['etag', '"a"', 'x-a', '1', 'etag', '"b"'], ['etag', '"a"', 'x-a', '1']],
    ['case-insensitive', ['Content-Type', 'a', 'content-type', 'b'], ['Content-Type', 'a']],
    ['multi-value fields repeat', ['set-cookie', 'a=1', 'set-cookie', 'b=2', 'vary', 'x', 'vary', 'y'], ['set-cookie', 'a=1', 'set-cookie', 'b=2', 'vary', 'x', 'vary', 'y']],
    ['several repeats', ['date', 'd1', 'location', '/a', 'date', 'd2', 'location', '/b', 'x', 'y'], ['date', 'd1', 'location', '/a', 'x', 'y']],
    ['empty', [], []],
  ];
  for (const [name, input, want] of table) t.same(firstOfEach(input), want, name);
  const unchanged = ['content-length', '1', 'etag', 'x'];
  t.equal(firstOfEach(unchanged), unchanged, 'without repeats: the same array, nothing allocated');
  firstOfEach(['etag', 'a']);
  t.same(firstOfEach(['etag', 'b']), ['etag', 'b'], 'the previous call is forgotten');
});
