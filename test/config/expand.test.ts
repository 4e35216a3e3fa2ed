import t from 'tap';
import { expandEnv } from '../../src/config/expand.ts';

const env = { A: 'alpha', B: 'beta', EMPTY: '', NESTED: '${A}', _x1: 'u' };

t.test('expands ${VAR} references', async (t) => {
  const table: [string, string][] = [
    ['plain', 'plain'],
    ['', ''],
    ['${A}', 'alpha'],
    ['x-${A}-y', 'x-alpha-y'],
    ['${A}${B}', 'alphabeta'],
    ['${A}/${A}', 'alpha/alpha'],
    ['${EMPTY}', ''],
    ['${_x1}', 'u'],
    // Expansion is one pass: a value that itself contains ${…} is kept literally.
    ['${NESTED}', '${A}'],
    // Escapes and lone dollars.
    ['$${A}', '${A}'],
    ['cost: $5 {x}', 'cost: $5 {x}'],
    ['$A', '$A'],
    ['$', '$'],
  ];
  for (const [input, want] of table) {
    const got = expandEnv(input, env);
    t.same(got, { ok: true, value: want }, JSON.stringify(input));
  }
});

t.test('reports unset or malformed references', async (t) => {
  const table: [string, RegExp][] = [
    ['${MISSING}', /^environment variable MISSING is not set$/],
    ['${A}-${MISSING}', /^environment variable MISSING is not set$/],
    ['${M1}${M2}${M1}', /^environment variables M1, M2 are not set$/],
    ['${A', /without a closing "}"/],
    ['${}', /invalid variable reference "\$\{\}"/],
    ['${1A}', /invalid variable reference "\$\{1A\}"/],
    ['${A B}', /invalid variable reference/],
    ['${A:-default}', /invalid variable reference/],
  ];
  for (const [input, want] of table) {
    const got = expandEnv(input, env);
    t.equal(got.ok, false, JSON.stringify(input));
    if (!got.ok) t.match(got.message, want, JSON.stringify(input));
  }
});
