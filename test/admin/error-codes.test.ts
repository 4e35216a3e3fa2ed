// CONTRACT §4: every admin error body is `{ statusCode, code, error, message }`, `code` being the
// registry's TURNOUT_ERR_* name whose status is the response's. One real request per error path
// the admin listener has: our own TurnoutErrors, fastify's validation and content-type errors,
// fastify's other client errors (413), the not-found handlers, /readyz.
import http from 'node:http';
import t from 'tap';
import { ERRORS, type ErrorCode } from '../../src/errors.ts';
import { startAdmin } from '../helpers/admin.ts';

t.test('every error path answers with a registry code', async (t) => {
  const admin = await startAdmin(t, { deps: { bodyLimit: 1024 } });
  admin.setReady(false);
  await admin.call('PUT', '/api/v1/canary', { body: { weight: 5 } }); // version 1
  const json = { 'content-type': 'application/json' };
  const cases: Array<[string, string, Parameters<typeof admin.call>[2], ErrorCode]> = [
    ['no token', '/api/v1/state', { auth: false }, 'TURNOUT_ERR_UNAUTHORIZED'],
    ['unknown /api route', '/api/v1/nope', {}, 'TURNOUT_ERR_NOT_FOUND'],
    ['unknown public route', '/nope', { auth: false }, 'TURNOUT_ERR_NOT_FOUND'],
    ['unknown dashboard asset', '/dashboard/nope.js', { auth: false }, 'TURNOUT_ERR_NOT_FOUND'],
    ['schema violation', 'PUT /api/v1/canary', { body: { weight: 101, extra: 1 } }, 'TURNOUT_ERR_BAD_REQUEST'],
    ['handler check', 'PUT /api/v1/canary', { body: { weight: 1.23456 } }, 'TURNOUT_ERR_BAD_REQUEST'],
    ['invalid JSON', 'PUT /api/v1/canary', { body: '{"weight":', headers: json }, 'TURNOUT_ERR_BAD_REQUEST'],
    ['bad querystring', '/api/v1/events?limit=0', {}, 'TURNOUT_ERR_BAD_REQUEST'],
    ['not JSON', 'PUT /api/v1/canary', { body: 'weight=5', headers: { 'content-type': 'text/plain' } }, 'TURNOUT_ERR_UNSUPPORTED_MEDIA_TYPE'],
    ['body over the limit', 'PUT /api/v1/canary', { body: JSON.stringify({ weight: 5, reason: 'x'.repeat(2000) }), headers: json }, 'TURNOUT_ERR_PAYLOAD_TOO_LARGE'],
    ['stale If-Match', 'POST /api/v1/flip', { headers: { 'if-match': '"0"' } }, 'TURNOUT_ERR_PRECONDITION_FAILED'],
    ['no verification ever ran', '/api/v1/verification', {}, 'TURNOUT_ERR_NOT_FOUND'],
    ['not ready', '/readyz', { auth: false }, 'TURNOUT_ERR_NO_HEALTHY_TARGET'],
  ];
  for (const [name, route, options, code] of cases) {
    const [method, path] = route.includes(' ') ? route.split(' ') as [string, string] : ['GET', route];
    const res = await admin.call(method, path, options);
    t.equal(res.status, ERRORS[code].statusCode, `${name}: ${ERRORS[code].statusCode}`);
    t.same(Object.keys(res.json ?? {}).sort(), ['code', 'error', 'message', 'statusCode'], `${name}: the CONTRACT §4 shape`);
    t.equal(res.json?.code, code, `${name}: code ${code}`);
    t.equal(res.json?.statusCode, res.status, `${name}: statusCode is the response's`);
  }
  t.equal(admin.state.state.version, 1, 'no refused request changed anything');
});

// fetch cannot set Host (a forbidden header name): node:http can.
t.test('a foreign Host gets 403 with its code', async (t) => {
  const admin = await startAdmin(t);
  const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(`${admin.url}/api/v1/state`, { headers: { host: 'evil.example' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject).end();
  });
  t.equal(status, 403);
  t.same(JSON.parse(body), { statusCode: 403, code: 'TURNOUT_ERR_FORBIDDEN', error: 'Forbidden', message: 'Host not allowed on the admin listener (add it to admin.allowedHosts)' });
});
