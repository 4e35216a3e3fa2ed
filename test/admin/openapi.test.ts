// GET /api/v1/openapi.json (issue 19 item 4): an OpenAPI 3.1 document generated from the admin
// routes' schemas, public (no token), valid by a real validator (@apidevtools/swagger-parser),
// covering every admin route, and honest: real answers of the whole app, successes and errors,
// validate against the response schemas the document gives for their route and status.
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import t from 'tap';
import { startApp } from '../helpers/app.ts';
import { startUpstream } from '../helpers/upstream.ts';

type Doc = { openapi: string; paths: Record<string, Record<string, any>>; components: { schemas: Record<string, unknown> } };

const ROUTES = [
  'get /api/v1/state',
  'put /api/v1/canary',
  'post /api/v1/flip',
  'post /api/v1/rollback',
  'post /api/v1/verification/revert',
  'get /api/v1/verification',
  'get /api/v1/events',
  'get /api/v1/upstreams',
  'post /api/v1/rollouts',
  'get /api/v1/rollouts/current',
  'post /api/v1/rollouts/current/pause',
  'post /api/v1/rollouts/current/resume',
  'post /api/v1/rollouts/current/promote',
  'post /api/v1/rollouts/current/abort',
  'post /api/v1/override-links',
  'get /api/v1/fleet',
  'get /api/v1/shadow',
  'put /api/v1/shadow',
  'get /healthz',
  'get /readyz',
  'get /metrics',
];

// CONTRACT §10: every route of a service also under /api/v1/services/{service}/…, and the list.
const SERVICE_ROUTES = ROUTES.filter((r) => r.includes('/api/v1/') && !r.endsWith('/api/v1/fleet')).map((r) => r.replace('/api/v1/', '/api/v1/services/{service}/'));
ROUTES.push(...SERVICE_ROUTES, 'get /api/v1/services', 'get /api/v1/services/{service}');

async function app(t: { teardown(fn: () => unknown): void }) {
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  return startApp(
    t,
    { upstreams: { blue: { targets: [blue.url] }, green: { targets: [green.url] } }, routing: { override: { secret: 'override-secret-0123456789abcdef-xyz' } } },
    { background: false },
  );
}

t.test('served without a token, and valid OpenAPI 3.1', async (t) => {
  const running = await app(t);
  const res = await fetch(`${running.admin}/api/v1/openapi.json`);
  t.equal(res.status, 200, 'no token needed');
  t.match(res.headers.get('content-type'), /^application\/json/);
  const doc = (await res.json()) as Doc;
  t.equal(doc.openapi, '3.1.0');
  await t.resolves(SwaggerParser.validate(structuredClone(doc) as never), 'swagger-parser validates it');

  // The validator is real: the same document with a dangling $ref, a parameter in no known place, or no info, is refused.
  const dangling = structuredClone(doc);
  dangling.paths['/api/v1/state']!.get.responses['200'].content['application/json'].schema = { $ref: '#/components/schemas/Nope' };
  await t.rejects(SwaggerParser.validate(dangling as never), 'a dangling $ref is refused');
  const badParameter = structuredClone(doc);
  badParameter.paths['/api/v1/events']!.get.parameters[0].in = 'body';
  await t.rejects(SwaggerParser.validate(badParameter as never), 'a parameter `in: body` (Swagger 2) is refused');
  const noInfo = structuredClone(doc) as Partial<Doc> & { info?: unknown };
  delete noInfo.info;
  await t.rejects(SwaggerParser.validate(noInfo as never), 'a document without info is refused');

  // Every admin route is in it, nothing else (not the dashboard, not the document itself).
  const operations = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`));
  t.same(operations.sort(), [...ROUTES].sort(), 'exactly the admin routes');
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const name = `${method.toUpperCase()} ${path}`;
      t.ok(op.summary, `${name}: has a summary`);
      t.ok(Object.keys(op.responses).some((s) => /^2\d\d$/.test(s)), `${name}: documents its success`);
      if (path.startsWith('/api/')) {
        t.notOk('security' in op, `${name}: needs the bearer token (the document's default)`);
        t.ok(op.responses['401'], `${name}: documents its 401`);
      } else t.same(op.security, [], `${name}: public`);
      if (method !== 'get') t.ok(op.requestBody || method === 'post', `${name}: documents its body`);
    }
  }
  t.same((doc as any).security, [{ bearer: [] }]);
  t.equal(doc.paths['/api/v1/flip']!.post.requestBody.required, false, 'an action body is optional');
  t.equal(doc.paths['/api/v1/canary']!.put.requestBody.required, true);
  t.ok(doc.paths['/api/v1/rollouts']!.post.requestBody.content['application/json'].schema.properties.steps, 'the rollout body is documented');
  // One schema per input: the documented bodies are the validating ones (rollout/spec.ts), defaults included.
  const rolloutSchema = doc.paths['/api/v1/rollouts']!.post.requestBody.content['application/json'].schema;
  t.equal(rolloutSchema.properties.analysis.properties.intervalSeconds.default, 10, 'the rollout analysis defaults are documented');
  t.equal(rolloutSchema.properties.steps.items.properties.weight.exclusiveMinimum, 0, 'a step weight is > 0');
  const verify = doc.paths['/api/v1/flip']!.post.requestBody.content['application/json'].schema.properties.verify;
  t.ok(verify.anyOf.some((s: { properties?: { seconds?: unknown } }) => s.properties?.seconds), 'the flip verify settings are documented');
});

t.test('real answers match the documented response schemas', async (t) => {
  const running = await app(t);
  const doc = (await SwaggerParser.dereference((await (await fetch(`${running.admin}/api/v1/openapi.json`)).json()) as never)) as unknown as Doc;
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  const checked = new Set<string>();

  async function call(method: string, path: string, body?: unknown, options: { token?: boolean; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...(options.token === false ? {} : { authorization: 'Bearer test-token-0123456789abcdef' }), ...options.headers };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(running.admin + path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const route = path.split('?')[0]!.replace(/^\/api\/v1\/services\/[^/]+/, '/api/v1/services/{service}');
    const op = doc.paths[route]?.[method.toLowerCase()];
    const name = `${method} ${route} ${res.status}`;
    const content = op?.responses?.[String(res.status)]?.content;
    t.ok(content, `${name}: the status is documented`);
    const [type, media] = Object.entries(content ?? {})[0] ?? ['', {}];
    t.match(res.headers.get('content-type') ?? '', type.split(';')[0]!, `${name}: ${type}`);
    const text = await res.text();
    const value = type === 'application/json' ? JSON.parse(text) : text;
    const validate = ajv.compile((media as { schema: object }).schema);
    t.ok(validate(value), `${name}: matches its schema${validate.errors ? ` (${ajv.errorsText(validate.errors)})` : ''}`);
    checked.add(`${method.toLowerCase()} ${route}`);
    return { status: res.status, json: type === 'application/json' ? value : null };
  }

  t.equal((await call('GET', '/api/v1/state', undefined, { token: false })).status, 401);
  t.equal((await call('GET', '/api/v1/state')).status, 200);
  t.equal((await call('PUT', '/api/v1/canary', { weight: 101 })).status, 400);
  t.equal((await call('PUT', '/api/v1/canary', { weight: 12.5, reason: 'openapi' })).status, 200);
  t.equal((await call('PUT', '/api/v1/canary', { weight: 1 }, { headers: { 'if-match': '"0"' } })).status, 412);
  t.equal((await call('POST', '/api/v1/rollback')).status, 200, 'weight back to 0');
  t.equal((await call('GET', '/api/v1/verification')).status, 404);
  t.equal((await call('POST', '/api/v1/verification/revert')).status, 404);
  t.equal((await call('POST', '/api/v1/flip', { verify: { seconds: 60 } })).status, 200);
  t.equal((await call('GET', '/api/v1/verification')).status, 200);
  t.equal((await call('GET', '/api/v1/state')).status, 200, 'the state with a running verification');
  t.equal((await call('POST', '/api/v1/verification/revert', { reason: 'test' })).status, 200);
  t.equal((await call('POST', '/api/v1/verification/revert')).status, 409);
  t.equal((await call('POST', '/api/v1/rollback')).status, 409, 'a revert is not undone by rollback');
  t.equal((await call('GET', '/api/v1/events?limit=5')).status, 200);
  t.equal((await call('GET', '/api/v1/events?limit=0')).status, 400);
  t.equal((await call('GET', '/api/v1/upstreams')).status, 200);
  t.equal((await call('GET', '/api/v1/rollouts/current')).status, 404);
  t.equal((await call('POST', '/api/v1/rollouts/current/pause')).status, 404);
  t.equal((await call('POST', '/api/v1/rollouts', { steps: [] })).status, 400);
  const rollout = { steps: [{ weight: 10, holdSeconds: 600 }, { weight: 100, holdSeconds: 60 }], reason: 'openapi' };
  t.equal((await call('POST', '/api/v1/rollouts', rollout)).status, 201);
  t.equal((await call('POST', '/api/v1/rollouts', rollout)).status, 409);
  t.equal((await call('GET', '/api/v1/state')).status, 200, 'the state with a rollout summary');
  t.equal((await call('POST', '/api/v1/rollouts/current/pause')).status, 200);
  t.equal((await call('POST', '/api/v1/rollouts/current/resume')).status, 200);
  t.equal((await call('POST', '/api/v1/rollouts/current/abort')).status, 200);
  t.equal((await call('POST', '/api/v1/rollouts/current/promote')).status, 409);
  t.equal((await call('GET', '/api/v1/rollouts/current')).status, 200);
  t.equal((await call('POST', '/api/v1/override-links', { colour: 'green' })).status, 201);
  t.equal((await call('POST', '/api/v1/override-links', { colour: 'purple' })).status, 400);
  t.equal((await call('GET', '/api/v1/fleet')).status, 200, 'one replica without a shared store');
  t.equal((await call('GET', '/api/v1/shadow')).status, 200);
  t.equal((await call('PUT', '/api/v1/shadow', { percent: 5 })).status, 200);
  t.equal((await call('PUT', '/api/v1/shadow', { percent: 500 })).status, 400);
  t.equal((await call('GET', '/healthz', undefined, { token: false })).status, 200);
  t.equal((await call('GET', '/readyz', undefined, { token: false })).status, 200);
  t.equal((await call('GET', '/metrics', undefined, { token: false })).status, 200);

  // The same routes under the service's prefix (the one service of a §2 config is `default`).
  const p = '/api/v1/services/default';
  t.equal((await call('GET', '/api/v1/services')).status, 200);
  t.equal((await call('GET', p)).status, 200);
  t.equal((await call('GET', '/api/v1/services/nope')).status, 404);
  t.equal((await call('GET', '/api/v1/services/nope/state')).status, 404);
  t.equal((await call('GET', `${p}/state`)).status, 200);
  t.equal((await call('PUT', `${p}/canary`, { weight: 101 })).status, 400);
  t.equal((await call('PUT', `${p}/canary`, { weight: 3 })).status, 200);
  t.equal((await call('PUT', `${p}/canary`, { weight: 1 }, { headers: { 'if-match': '"0"' } })).status, 412);
  t.equal((await call('POST', `${p}/rollback`)).status, 200);
  t.equal((await call('GET', `${p}/verification`)).status, 200);
  t.equal((await call('POST', `${p}/flip`, { verify: { seconds: 60 } })).status, 200);
  t.equal((await call('POST', `${p}/verification/revert`)).status, 200);
  t.equal((await call('GET', `${p}/events?limit=2`)).status, 200);
  t.equal((await call('GET', `${p}/upstreams`)).status, 200);
  t.equal((await call('GET', `${p}/rollouts/current`)).status, 200);
  t.equal((await call('POST', `${p}/rollouts`, rollout)).status, 201);
  t.equal((await call('POST', `${p}/rollouts/current/pause`)).status, 200);
  t.equal((await call('POST', `${p}/rollouts/current/resume`)).status, 200);
  t.equal((await call('POST', `${p}/rollouts/current/promote`)).status, 200);
  t.equal((await call('POST', `${p}/rollouts/current/abort`)).status, 409);
  t.equal((await call('POST', `${p}/override-links`, { colour: 'green' })).status, 201);
  t.equal((await call('GET', `${p}/shadow`)).status, 200);
  t.equal((await call('PUT', `${p}/shadow`, { percent: 2 })).status, 200);
  t.same([...ROUTES].filter((r) => !checked.has(r)), [], 'every documented route was called');
});
