import t from 'tap';
import { readCookie } from '../../src/routing/cookies.ts';

t.test('readCookie table', async (t) => {
  const table: [string | undefined, string, string | undefined][] = [
    [undefined, 'a', undefined],
    ['', 'a', undefined],
    ['a=1', 'a', '1'],
    ['a=1; b=2', 'b', '2'],
    ['a=1;b=2', 'b', '2'],
    ['xa=1; a=2', 'a', '2'],
    ['a=1; a=2', 'a', '1'],
    ['ab=1', 'a', undefined],
    ['a', 'a', undefined],
    ['a=', 'a', ''],
    ['a="quoted"', 'a', 'quoted'],
    ['turnout_id=abc-123; turnout_colour=green', 'turnout_colour', 'green'],
    ['b=x=y', 'b', 'x=y'],
  ];
  for (const [header, name, want] of table) t.equal(readCookie(header, name), want, `${String(header)} / ${name}`);
});
