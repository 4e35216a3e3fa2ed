import t from 'tap';
import { bearerToken, tokensMatch } from '../../src/admin/auth.ts';
import { buildAdminServer } from '../../src/admin/server.ts';
import { StateManager } from '../../src/state/manager.ts';
import { MemoryStore } from '../../src/state/memory-store.ts';
import { startAdmin, TEST_TOKEN } from '../helpers/admin.ts';

t.test('bearerToken and tokensMatch', async (t) => {
  const table: [string | undefined, string | null][] = [
    [undefined, null], ['', null], ['Bearer', null], ['Bearer ', null], ['Basic abc', null],
    ['Bearer abc', 'abc'], ['bearer abc', 'abc'], ['BEARER  abc ', 'abc'], ['Bearer abc def', null],
  ];
  for (const [header, token] of table) t.equal(bearerToken(header), token, `${JSON.stringify(header)}`);
  t.ok(tokensMatch('secret', 'secret'));
  t.notOk(tokensMatch('secret', 'secreT'));
  t.notOk(tokensMatch('secret', 'secret-longer'), 'different lengths compare (as digests) without throwing');
  t.notOk(tokensMatch('', 'secret'));
});

t.test('every /api/* route needs the token; health, readiness and unknown public paths do not', async (t) => {
  const admin = await startAdmin(t);
  const wrong: [string, Record<string, string>][] = [
    ['no header', {}],
    ['wrong token', { authorization: 'Bearer nope' }],
    ['a prefix of the token', { authorization: `Bearer ${TEST_TOKEN.slice(0, -1)}` }],
    ['the token plus more', { authorization: `Bearer ${TEST_TOKEN}x` }],
    ['wrong scheme', { authorization: `Basic ${TEST_TOKEN}` }],
    ['bare token', { authorization: TEST_TOKEN }],
  ];
  const routes: [string, string, unknown?][] = [
    ['GET', '/api/v1/state'],
    ['PUT', '/api/v1/canary', { weight: 50 }],
    ['POST', '/api/v1/flip'],
    ['POST', '/api/v1/rollback'],
    ['GET', '/api/v1/events'],
    ['GET', '/api/v1/no-such-route'],
    ['GET', '//api/v1/state'],
    ['GET', '/%61pi/v1/state'],
  ];
  for (const [method, path, body] of routes) {
    for (const [name, headers] of wrong) {
      const res = await admin.call(method, path, { auth: false, headers, body });
      t.equal(res.status, 401, `${method} ${path}, ${name}: 401`);
      t.same(res.json, { statusCode: 401, code: 'TURNOUT_ERR_UNAUTHORIZED', error: 'Unauthorized', message: 'missing or invalid bearer token' });
      t.equal(res.headers.get('www-authenticate'), 'Bearer realm="turnout"');
    }
  }
  t.equal(admin.state.state.version, 0, 'nothing changed');
  const ok = await admin.call('GET', '/api/v1/state', { auth: false, headers: { authorization: `bearer ${TEST_TOKEN}` } });
  t.equal(ok.status, 200, 'the scheme is case-insensitive');
  t.equal((await admin.call('GET', '/api/v1/no-such-route')).status, 404, 'with the token, an unknown API route is 404');
  t.equal((await admin.call('GET', '/healthz', { auth: false })).status, 200);
  t.equal((await admin.call('GET', '/readyz', { auth: false })).status, 200);
  const missing = await admin.call('GET', '/nope', { auth: false });
  t.same(missing.json, { statusCode: 404, code: 'TURNOUT_ERR_NOT_FOUND', error: 'Not Found', message: 'no route GET /nope' });
});

t.test('an empty token refuses to build', async (t) => {
  const state = await StateManager.open({ store: new MemoryStore(), seed: { active: 'blue', weight: 0 } });
  await t.rejects(buildAdminServer({ token: '', state, isReady: () => true }), { code: 'TURNOUT_ERR_CONFIG', message: /admin\.token/ });
});
