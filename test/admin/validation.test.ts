// Strict input (PITFALLS: no coercion, no silently dropped fields): every bad body is a 400
// naming the field, and changes nothing.
import t from 'tap';
import { startAdmin } from '../helpers/admin.ts';

t.test('bad bodies for PUT /api/v1/canary', async (t) => {
  const admin = await startAdmin(t);
  await admin.call('PUT', '/api/v1/canary', { body: { weight: 8 } });
  const json = { 'content-type': 'application/json' };
  const cases: [string, { body?: string; headers?: Record<string, string> }, number, RegExp][] = [
    ['weight as a string', { body: '{"weight":"8"}', headers: json }, 400, /^body\.weight must be a number$/],
    ['weight as a boolean', { body: '{"weight":true}', headers: json }, 400, /^body\.weight must be a number$/],
    ['weight null', { body: '{"weight":null}', headers: json }, 400, /^body\.weight must be a number$/],
    ['weight as an array', { body: '{"weight":[8]}', headers: json }, 400, /^body\.weight must be a number$/],
    ['weight above 100', { body: '{"weight":100.0001}', headers: json }, 400, /^body\.weight must be <= 100$/],
    ['weight below 0', { body: '{"weight":-1}', headers: json }, 400, /^body\.weight must be >= 0$/],
    ['five decimals', { body: '{"weight":12.34567}', headers: json }, 400, /^body\.weight must have at most 4 decimals$/],
    ['weight missing', { body: '{}', headers: json }, 400, /^body\.weight is required$/],
    ['an unknown field', { body: '{"weight":5,"colour":"green"}', headers: json }, 400, /^body\.colour is not allowed \(known fields: weight, reason\)$/],
    ['two problems at once', { body: '{"weight":500,"x":1}', headers: json }, 400, /body\.x is not allowed.*body\.weight must be <= 100/],
    ['reason not a string', { body: '{"weight":5,"reason":5}', headers: json }, 400, /^body\.reason must be a string$/],
    ['reason too long', { body: JSON.stringify({ weight: 5, reason: 'x'.repeat(501) }), headers: json }, 400, /^body\.reason must NOT have more than 500 characters$/],
    ['broken JSON', { body: '{"weight": 5', headers: json }, 400, /^body is not valid JSON/],
    ['a JSON array', { body: '[{"weight":5}]', headers: json }, 400, /^body must be a JSON object$/],
    ['a JSON string', { body: '"5"', headers: json }, 400, /^body must be a JSON object$/],
    ['a JSON number', { body: '5', headers: json }, 400, /^body must be a JSON object$/],
    ['JSON null', { body: 'null', headers: json }, 400, /^body must be a JSON object$/],
    ['no body', {}, 400, /^body must be a JSON object$/],
    ['an empty JSON body', { body: '', headers: json }, 400, /^body must be a JSON object$/],
    ['text/plain', { body: '5', headers: { 'content-type': 'text/plain' } }, 415, /^content-type must be application\/json$/],
    ['a form', { body: 'weight=5', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, /^content-type must be application\/json$/],
    ['a body without content-type', { body: '{"weight":5}', headers: { 'content-type': '' } }, 415, /^content-type must be application\/json$/],
    ['too large', { body: JSON.stringify({ weight: 5, reason: 'x'.repeat(70_000) }), headers: json }, 413, /./],
    ['a proto key', { body: '{"weight":5,"__proto__":{"x":1}}', headers: json }, 400, /^body\.__proto__ is not allowed \(known fields: weight, reason\)$/],
  ];
  for (const [name, request, status, message] of cases) {
    const res = await admin.call('PUT', '/api/v1/canary', request);
    t.equal(res.status, status, `${name}: ${status}`);
    t.equal(res.json?.statusCode, status, `${name}: statusCode in the body`);
    t.type(res.json?.error, 'string', `${name}: error`);
    t.match(res.json?.message, message, `${name}: ${res.json?.message}`);
    t.same(Object.keys(res.json ?? {}).sort(), ['code', 'error', 'message', 'statusCode'], `${name}: nothing else in the body`);
  }
  t.match(admin.state.state, { version: 1, weight: 8 }, 'nothing changed');
  t.equal((await admin.state.events(100)).length, 1, 'no event appended');
});

t.test('bad bodies and headers for flip and rollback', async (t) => {
  const admin = await startAdmin(t, { seed: { active: 'blue', weight: 10 } });
  const json = { 'content-type': 'application/json' };
  for (const path of ['/api/v1/flip', '/api/v1/rollback']) {
    const cases: [string, { body?: string; headers?: Record<string, string> }, RegExp][] = [
      ['an unknown field', { body: '{"force":true}', headers: json }, /^body\.force is not allowed \(known fields: reason(, verify)?\)$/],
      ['reason not a string', { body: '{"reason":["x"]}', headers: json }, /^body\.reason must be a string$/],
      ['a JSON array', { body: '[]', headers: json }, /^body must be a JSON object$/],
      ['a JSON string', { body: '"flip"', headers: json }, /^body must be a JSON object$/],
      ['broken JSON', { body: '{', headers: json }, /^body is not valid JSON/],
      ['an over-long actor', { headers: { 'x-turnout-actor': 'a'.repeat(65) } }, /^headers\.x-turnout-actor must be 1\.\.64 printable ASCII characters$/],
      ['an empty actor', { headers: { 'x-turnout-actor': ' ' } }, /^headers\.x-turnout-actor/],
      ['an over-long reason header', { headers: { 'x-turnout-reason': 'r'.repeat(501) } }, /^headers\.x-turnout-reason/],
      ['a control character in the reason', { body: '{"reason":"a\\u0007b"}', headers: json }, /^body\.reason must not contain control characters$/],
      ['a malformed If-Match', { headers: { 'if-match': '3' } }, /^headers\.if-match must be a quoted version/],
      ['a non-numeric If-Match', { headers: { 'if-match': '"abc"' } }, /^headers\.if-match/],
    ];
    for (const [name, request, message] of cases) {
      const res = await admin.call('POST', path, request);
      t.equal(res.status, 400, `${path} ${name}: 400`);
      t.match(res.json?.message, message, `${path} ${name}: ${res.json?.message}`);
    }
  }
  t.match(admin.state.state, { version: 0, active: 'blue', weight: 10 }, 'nothing changed');
});

t.test('querystring of GET /api/v1/events', async (t) => {
  const admin = await startAdmin(t);
  const cases: [string, RegExp][] = [
    ['?limit=0', /^querystring\.limit must be an integer 1\.\.10000$/],
    ['?limit=-1', /^querystring\.limit/],
    ['?limit=1.5', /^querystring\.limit/],
    ['?limit=abc', /^querystring\.limit/],
    ['?limit=10001', /^querystring\.limit/],
    ['?limit=', /^querystring\.limit/],
    ['?limit=1&limit=2', /^querystring\.limit must be a string$/],
    ['?since=3', /^querystring\.since is not allowed \(known fields: limit\)$/],
  ];
  for (const [query, message] of cases) {
    const res = await admin.call('GET', `/api/v1/events${query}`);
    t.equal(res.status, 400, `${query}: 400`);
    t.match(res.json?.message, message, `${query}: ${res.json?.message}`);
  }
});
