// Signed override values by table (pure; the clock is an argument).
import t from 'tap';
import { isSignedForm, signOverride, verifyOverride } from '../../src/routing/override-token.ts';

const SECRET = 'a-secret-of-at-least-32-characters!!';
const NOW = 1_800_000_000_000; // ms
const exp = NOW / 1000 + 3600;

t.test('signOverride / verifyOverride', async (t) => {
  const green = signOverride('green', exp, SECRET);
  t.match(green, /^v1\.green\.\d+\.[A-Za-z0-9_-]{43}$/, 'cookie-octets and token characters only');
  t.ok(isSignedForm(green));
  t.notOk(isSignedForm('green'));
  const [, , e, sig] = green.split('.');
  const table: [string, string, string, number, unknown][] = [
    ['valid', green, SECRET, NOW, { value: 'green', expiresAtSeconds: exp }],
    ['canary resolves later', signOverride('canary', exp, SECRET), SECRET, NOW, { value: 'canary', expiresAtSeconds: exp }],
    ['one ms before expiry', green, SECRET, exp * 1000 - 1, { value: 'green', expiresAtSeconds: exp }],
    ['at expiry', green, SECRET, exp * 1000, undefined],
    ['expired', green, SECRET, exp * 1000 + 1, undefined],
    ['another secret', green, 'another-secret-of-32-characters-or-more', NOW, undefined],
    ['empty secret', green, '', NOW, undefined],
    ['value swapped', `v1.blue.${e}.${sig}`, SECRET, NOW, undefined],
    ['expiry pushed out', `v1.green.${exp + 1}.${sig}`, SECRET, NOW, undefined],
    ['signature cut', green.slice(0, -2), SECRET, NOW, undefined],
    ['not a colour', `v1.purple.${e}.${sig}`, SECRET, NOW, undefined],
    ['other version', green.replace(/^v1/, 'v2'), SECRET, NOW, undefined],
    ['extra part', `${green}.x`, SECRET, NOW, undefined],
    ['non-numeric expiry', `v1.green.1e12.${sig}`, SECRET, NOW, undefined],
    ['plain value', 'green', SECRET, NOW, undefined],
    ['too long', `${green}${'A'.repeat(200)}`, SECRET, NOW, undefined],
  ];
  for (const [name, token, secret, now, want] of table) t.same(verifyOverride(token, secret, now), want, name);
  t.throws(() => signOverride('green', exp, ''), /secret is required/);
});
