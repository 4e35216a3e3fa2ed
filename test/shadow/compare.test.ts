// The pure comparison (CONTRACT §9), by table: each kind of mismatch, ignores, hop-by-hop, JSON
// paths (first differing one), and large bodies compared by length and hash only.
import t from 'tap';
import { createHash } from 'node:crypto';
import { compareAnswers, compileJsonPaths, jsonKey, type Answer } from '../../src/shadow/compare.ts';
import { BodyCapture, MemoryBudget, headersFromRaw } from '../../src/shadow/capture.ts';

function answer(status: number, headers: Record<string, string>, body: string | object, limit = 1 << 20): Answer {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const bytes = Buffer.from(text);
  return {
    status,
    headers,
    body: { length: bytes.length, hash: createHash('sha1').update(bytes).digest('hex'), bytes: bytes.length <= limit ? bytes : null },
  };
}

const json = { 'content-type': 'application/json' };
const opts = (ignoreHeaders: string[] = ['date'], ignoreJsonPaths: string[] = []) => ({ ignoreHeaders: new Set(ignoreHeaders), ignoreJsonPaths: compileJsonPaths(ignoreJsonPaths) });

const cases: { name: string; live: Answer; shadow: Answer; options?: ReturnType<typeof opts>; keys: string[]; first?: string }[] = [
  { name: 'identical', live: answer(200, json, { a: 1 }), shadow: answer(200, json, { a: 1 }), keys: [] },
  { name: 'status', live: answer(200, json, { a: 1 }), shadow: answer(500, json, { a: 1 }), keys: ['status'] },
  { name: 'a header', live: answer(200, { ...json, 'x-v': '1' }, {}), shadow: answer(200, { ...json, 'x-v': '2' }, {}), keys: ['header:x-v'] },
  { name: 'a header only on one side', live: answer(200, json, {}), shadow: answer(200, { ...json, 'x-new': 'y' }, {}), keys: ['header:x-new'] },
  { name: 'ignored header (date)', live: answer(200, { ...json, date: 'a' }, {}), shadow: answer(200, { ...json, date: 'b' }, {}), keys: [] },
  { name: 'hop-by-hop and content-length never compared', live: answer(200, { ...json, connection: 'close', 'content-length': '2' }, {}), shadow: answer(200, { ...json, 'keep-alive': 'timeout=5', 'transfer-encoding': 'chunked' }, {}), keys: [] },
  { name: 'content-type compared even when listed', live: answer(200, json, 'x'), shadow: answer(200, { 'content-type': 'text/plain' }, 'x'), options: opts(['content-type']), keys: ['header:content-type'] },
  { name: 'JSON key order and whitespace do not matter', live: answer(200, json, '{"a":1,"b":[1,2]}'), shadow: answer(200, json, '{ "b": [1, 2], "a": 1 }'), keys: [] },
  { name: 'JSON: first differing path', live: answer(200, json, { a: { b: 1, c: [1, { d: 'x' }] } }), shadow: answer(200, json, { a: { b: 1, c: [1, { d: 'y' }] } }), keys: ['$.a.c[*].d'], first: '$.a.c[1].d' },
  { name: 'JSON: missing key', live: answer(200, json, { a: 1, b: 2 }), shadow: answer(200, json, { a: 1 }), keys: ['$.b'] },
  { name: 'JSON: type change', live: answer(200, json, { a: 1 }), shadow: answer(200, json, { a: '1' }), keys: ['$.a'] },
  { name: 'JSON: ignored path', live: answer(200, json, { t: 1, a: 1 }), shadow: answer(200, json, { t: 2, a: 1 }), options: opts(['date'], ['$.t']), keys: [] },
  { name: 'JSON: ignored path with [*] and its subtree', live: answer(200, json, { items: [{ id: 1, m: { x: 1 } }] }), shadow: answer(200, json, { items: [{ id: 2, m: { x: 2 } }] }), options: opts(['date'], ['$.items[*].id', '$.items[*].m']), keys: [] },
  { name: 'text: same length, other bytes', live: answer(200, { 'content-type': 'text/plain' }, 'abc'), shadow: answer(200, { 'content-type': 'text/plain' }, 'abd'), keys: ['body'] },
  { name: 'invalid JSON on one side: by hash', live: answer(200, json, '{"a":1}'), shadow: answer(200, json, '{"a":'), keys: ['body'] },
  { name: 'JSON over maxBodyBytes: by length and hash', live: answer(200, json, { a: 1 }, 4), shadow: answer(200, json, { a: 2 }, 4), keys: ['body'] },
  { name: 'JSON over maxBodyBytes, identical', live: answer(200, json, { a: 1 }, 4), shadow: answer(200, json, { a: 1 }, 4), keys: [] },
  { name: 'every kind at once', live: answer(200, { ...json, 'x-a': '1' }, { a: 1 }), shadow: answer(404, { ...json, 'x-a': '2' }, { a: 2 }), keys: ['status', 'header:x-a', '$.a'] },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const diffs = compareAnswers(c.live, c.shadow, c.options ?? opts());
    t.same(diffs.map((d) => d.key), c.keys);
    if (c.first) t.equal(diffs[0]?.path, c.first, 'the first differing path, with real indices');
  });
}

t.test('differences are bounded', async (t) => {
  const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
  const other = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, -i - 1]));
  t.equal(compareAnswers(answer(200, json, many), answer(200, json, other), { ...opts(), maxDifferences: 7 }).length, 7);
});

t.test('jsonKey generalises indices', async (t) => {
  t.equal(jsonKey('$.a[3].b[10]'), '$.a[*].b[*]');
});

t.test('BodyCapture: keeps at most maxBytes, hashes all, honours the budget', async (t) => {
  const budget = new MemoryBudget(100);
  const c = new BodyCapture(8, budget);
  c.push(Buffer.from('abcd'));
  t.equal(budget.used, 4);
  c.push(Buffer.from('efghij')); // 10 > 8: only length and hash from here
  t.equal(budget.used, 0, 'held bytes given back');
  const r = c.result();
  t.equal(r.length, 10);
  t.equal(r.bytes, null);
  t.equal(r.hash, createHash('sha1').update('abcdefghij').digest('hex'));
  const small = new MemoryBudget(3);
  const d = new BodyCapture(8, small);
  d.push(Buffer.from('abcd'));
  t.ok(d.overBudget, 'over the global budget');
  t.equal(small.used, 0);
});

t.test('headersFromRaw joins repeats, lower-cases names', async (t) => {
  t.same(headersFromRaw([Buffer.from('Set-Cookie'), Buffer.from('a=1'), Buffer.from('set-cookie'), Buffer.from('b=2'), Buffer.from('X-A'), Buffer.from('v')]), { 'set-cookie': 'a=1, b=2', 'x-a': 'v' });
});
