// The one validation machinery of every input (src/schema/): the field-path formatter, Ajv's
// errors in both wordings, the passes around Ajv. Pure: table tests on small TypeBox schemas.
import t from 'tap';
import { Type } from 'typebox';
import { oneOf, weightSchema } from '../../src/schema/common.ts';
import { fieldDocs, renderDefault } from '../../src/schema/docs.ts';
import { apiMessage, closest, settle } from '../../src/schema/issues.ts';
import { childPath, fieldPath, pointerSegments } from '../../src/schema/path.ts';
import { defineRule } from '../../src/schema/rules.ts';
import { check, checkValue } from '../../src/schema/validate.ts';

t.test('one path formatter: JSON pointers and keys to a.b[0].c', async (t) => {
  const rows: [string, string, string][] = [
    ['body', '/steps/1/weight', 'body.steps[1].weight'],
    ['', '/listen/port', 'listen.port'],
    ['', '', ''],
    ['body', '', 'body'],
    ['', '/listen/with space', 'listen["with space"]'],
    ['', '/a~1b/c~0d', '"a/b"["c~d"]'],
    ['querystring', '/limit', 'querystring.limit'],
  ];
  for (const [root, pointer, want] of rows) t.equal(fieldPath(root, pointer), want, `${root} + ${pointer}`);
  t.same(pointerSegments('/steps/10/x'), ['steps', 10, 'x']);
  t.equal(childPath('a', 0), 'a[0]');
  t.equal(childPath('', '$ok'), '$ok');
});

t.test('did you mean: edit distance at most 2, or a case difference', async (t) => {
  const known = ['host', 'port', 'tls', 'http2'];
  const rows: [string, string | undefined][] = [
    ['hots', 'host'],
    ['Port', 'port'],
    ['tsl', 'tls'],
    ['colour', undefined],
    ['http', 'http2'],
  ];
  for (const [key, want] of rows) t.equal(closest(key, known), want, key);
});

const tiny = Type.Object(
  {
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 80 }),
    name: Type.String({ 'x-hint': 'a short name' }),
    colour: oneOf(['blue', 'green'], { default: 'blue' }),
    weight: weightSchema({ default: 0 }),
    mode: Type.Union([Type.Integer({ minimum: 1, maximum: 9 }), Type.Literal('auto')], { default: 1 }),
    tags: Type.Array(Type.String({ 'x-normalise': 'lower' }), { default: [], 'x-unique': true }),
    inner: Type.Union([Type.Object({ on: Type.Boolean({ default: true }) }, { additionalProperties: false }), Type.Null()], { default: null }),
  },
  { additionalProperties: false, default: {} },
);

t.test('both wordings of the same problems, each with its field path', async (t) => {
  const rows: [unknown, string[], string[]][] = [
    [{ name: 'x', port: '80' }, ['port: must be an integer, got string "80"'], ['body.port must be an integer']],
    [{ name: 'x', port: 70000 }, ['port: must be between 0 and 65535, got 70000'], ['body.port must be <= 65535']],
    [{}, ['name: required: a short name'], ['body.name is required']],
    [{ name: 'x', colour: 'red' }, ['colour: must be one of blue, green, got string "red"'], ['body.colour must be equal to one of the allowed values']],
    [{ name: 'x', colour: 1 }, ['colour: must be a string, got number 1'], ['body.colour must be a string']],
    [{ name: 'x', weight: 1.23456 }, ['weight: must have at most 4 decimals'], ['body.weight must have at most 4 decimals']],
    [{ name: 'x', mode: 'all' }, ['mode: must be an integer or "auto", got string "all"'], ['body.mode must be an integer or "auto"']],
    [{ name: 'x', mode: 0 }, ['mode: must be between 1 and 9, got 0'], ['body.mode must be >= 1']],
    [{ name: 'x', inner: 'yes' }, ['inner: must be a mapping of fields, got string "yes"'], ['body.inner must be an object']],
    [{ name: 'x', inner: { on: 1 } }, ['inner.on: must be true or false, got number 1'], ['body.inner.on must be a boolean']],
    [{ name: 'x', prot: 1 }, ['prot: unknown field (did you mean "port"?)'], ['body.prot is not allowed (did you mean "port"?)']],
    [{ name: 'x', zzz: 1 }, ['zzz: unknown field'], ['body.zzz is not allowed (known fields: port, name, colour, weight, mode, tags, inner)']],
    [{ name: 'x', tags: ['A', 'a'] }, ['tags[1]: duplicate of tags[0]'], ['body.tags[1] is a duplicate of body.tags[0]']],
    [[1], [': must be a mapping of fields, got a list'], ['body must be a JSON object']],
  ];
  for (const [value, config, api] of rows) {
    const c = checkValue(tiny, value, { wording: 'config' });
    t.same(settle(c.issues, tiny).map((i) => `${i.path}: ${i.message}`), config, `config: ${JSON.stringify(value)}`);
    const a = checkValue(tiny, value, { wording: 'api', root: 'body' });
    t.same(settle(a.issues, tiny).map((i) => `${i.path} ${i.message}`), api, `api: ${JSON.stringify(value)}`);
  }
});

t.test('every problem at once, in the schema order; apiMessage joins them', async (t) => {
  const result = check(tiny, { zzz: 1, weight: 200, port: -1 }, { wording: 'api', root: 'body' });
  t.equal(result.ok, false);
  if (result.ok) return;
  t.equal(apiMessage(result.issues), 'body.zzz is not allowed (known fields: port, name, colour, weight, mode, tags, inner); body.port must be >= 0; body.name is required; body.weight must be <= 100');
});

t.test('defaults filled and values normalised in a new value; the input untouched', async (t) => {
  const input = { name: 'x', tags: ['A', 'b'], inner: {} };
  const before = structuredClone(input);
  const result = check(tiny, input, { wording: 'config' });
  t.same(result, { ok: true, value: { port: 80, name: 'x', colour: 'blue', weight: 0, mode: 1, tags: ['a', 'b'], inner: { on: true } } });
  t.same(input, before, 'input unchanged');
  t.same(check(tiny, { name: 'x', inner: null }, { wording: 'config' }), { ok: true, value: { port: 80, name: 'x', colour: 'blue', weight: 0, mode: 1, tags: [], inner: null } }, 'a nullable section keeps null');
  const a = check(tiny, { name: 'x' }, { wording: 'config' });
  const b = check(tiny, { name: 'x' }, { wording: 'config' });
  t.ok(a.ok && b.ok && a.value.tags !== b.value.tags, 'defaults are copies, never shared');
});

t.test('${VAR} expansion only where the schema says string; an unset one is the only issue of its field', async (t) => {
  const expand = (v: string) => (v === '${NOPE}' ? { ok: false as const, message: 'environment variable NOPE is not set' } : { ok: true as const, value: v.replace('${N}', 'n1') });
  const ok = check(tiny, { name: '${N}', port: 8 }, { wording: 'config', expand });
  t.same(ok.ok && ok.value.name, 'n1');
  const bad = checkValue(tiny, { name: '${NOPE}', port: '${N}' }, { wording: 'config', expand });
  t.same(settle(bad.issues, tiny).map((i) => `${i.path}: ${i.message}`), ['port: must be an integer, got string "${N}"', 'name: environment variable NOPE is not set']);
});

t.test('named rules keep their own message; a rule judges only values of its type', async (t) => {
  const even = Type.Object({ n: Type.Integer({ ...defineRule<number>('test.even', (v) => (v % 2 === 0 ? undefined : 'must be even')) }) }, { additionalProperties: false });
  t.same(settle(checkValue(even, { n: 3 }, { wording: 'config' }).issues, even), [{ path: 'n', message: 'must be even' }]);
  t.same(settle(checkValue(even, { n: 'x' }, { wording: 'config' }).issues, even), [{ path: 'n', message: 'must be an integer, got string "x"' }]);
  t.throws(() => defineRule<number>('test.even', () => undefined), /defined twice/);
});

t.test('the docs view of a schema: leaf paths, required, defaults as the tables write them', async (t) => {
  t.same(fieldDocs(tiny).map((f) => [f.path, f.required, f.default]), [
    ['port', false, '80'],
    ['name', true, undefined],
    ['colour', false, 'blue'],
    ['weight', false, '0'],
    ['mode', false, '1'],
    ['tags', false, '[]'],
    ['inner.on', false, 'true'],
  ]);
  t.equal(renderDefault(['0.0.0.0/0', '::/0']), '[0.0.0.0/0, ::/0]');
  t.equal(renderDefault(''), '""');
});
