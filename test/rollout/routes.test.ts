// The rollout routes on a real admin server (CONTRACT §4): status codes, strict bodies, the
// `rollout` summary in GET /api/v1/state, events in the audit log. The controller is ticked by hand.
import t from 'tap';
import { adminWithRollouts } from './harness.ts';

const TOKEN = 'rollout-test-token-0123';

async function startAdminWithRollouts(t: Tap) {
  const admin = await adminWithRollouts(t, TOKEN);
  const url = admin.url;
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const h: Record<string, string> = { authorization: `Bearer ${TOKEN}`, ...headers };
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    const res = await fetch(url + path, { method, headers: h, body: payload });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  };
  return { ...admin, call };
}
type Tap = { teardown(fn: () => unknown): void };

const body = {
  steps: [
    { weight: 5, holdSeconds: 30 },
    { weight: 25, holdSeconds: 60 },
    { weight: 100, holdSeconds: 60 },
  ],
  analysis: { intervalSeconds: 10, minRequests: 50, maxErrorRate: 0.02, maxP99Ms: 800, maxP99Ratio: 1.5 },
  onSuccess: 'promote',
};

t.test('the contract body starts a rollout: 201, then current, state and events agree', async (t) => {
  const a = await startAdminWithRollouts(t);
  t.match(await a.call('GET', '/api/v1/rollouts/current'), { status: 404, json: { statusCode: 404, error: 'Not Found' } });
  t.match((await a.call('GET', '/api/v1/state')).json, { rollout: null });

  const created = await a.call('POST', '/api/v1/rollouts', body, { 'x-turnout-actor': 'ci' });
  t.equal(created.status, 201);
  t.match(created.json, { status: 'running', step: 0, weight: 5, canary: 'green', steps: body.steps, analysis: [], reason: '' });
  t.match(created.json.analysisSettings, { ...body.analysis, alpha: 0.01 });

  t.match(await a.call('POST', '/api/v1/rollouts', body), { status: 409, json: { statusCode: 409, error: 'Conflict' } });

  const st = (await a.call('GET', '/api/v1/state')).json;
  t.match(st, { version: 1, canary: { colour: 'green', weight: 5 }, rollout: { status: 'running', step: 0, steps: 3, weight: 5 } });

  a.advance(10);
  await a.rollouts.tick();
  const current = (await a.call('GET', '/api/v1/rollouts/current')).json;
  t.equal(current.analysis.length, 1);
  t.match(current.analysis[0], { result: 'pass', step: 0, canary: { requests: 100 }, stable: { requests: 1000 } });

  const events = (await a.call('GET', '/api/v1/events')).json;
  t.match(events[0], { action: 'rollout.start', actor: 'ci', version: 1, from: { active: 'blue', weight: 0 }, to: { active: 'blue', weight: 5 } });
});

t.test('pause, resume, promote, abort: 200 with the rollout, 409 once it ended', async (t) => {
  const a = await startAdminWithRollouts(t);
  t.match(await a.call('POST', '/api/v1/rollouts/current/pause'), { status: 404 });
  await a.call('POST', '/api/v1/rollouts', body);
  t.match(await a.call('POST', '/api/v1/rollouts/current/pause', { reason: 'checking' }), { status: 200, json: { status: 'paused', reason: 'checking' } });
  t.match(await a.call('POST', '/api/v1/rollouts/current/pause'), { status: 409 });
  t.match(await a.call('POST', '/api/v1/rollouts/current/resume'), { status: 200, json: { status: 'running' } });
  t.match(await a.call('POST', '/api/v1/rollouts/current/promote'), { status: 200, json: { status: 'promoted', weight: 100 } });
  t.match((await a.call('GET', '/api/v1/state')).json, { active: 'green', canary: { weight: 0 }, rollout: { status: 'promoted' } });
  for (const action of ['pause', 'resume', 'promote', 'abort']) {
    t.match(await a.call('POST', `/api/v1/rollouts/current/${action}`), { status: 409 }, action);
  }
  t.match(await a.call('POST', '/api/v1/rollouts/current/promote', { bogus: 1 }), { status: 400, json: { message: /bogus/ } });

  await a.call('POST', '/api/v1/rollouts', body);
  t.match(await a.call('POST', '/api/v1/rollouts/current/abort', undefined, { 'x-turnout-reason': 'smoke test failed' }), {
    status: 200,
    json: { status: 'aborted', weight: 0, reason: 'smoke test failed', canary: 'blue' },
  });
  const events = (await a.call('GET', '/api/v1/events?limit=20')).json.map((e: { action: string }) => e.action);
  t.same(events, ['rollout.abort', 'rollout.start', 'rollout.promote', 'rollout.resume', 'rollout.pause', 'rollout.start']);
});

t.test('If-Match on rollout routes: 412 and nothing changes', async (t) => {
  const a = await startAdminWithRollouts(t);
  t.match(await a.call('POST', '/api/v1/rollouts', body, { 'if-match': '"5"' }), { status: 412 });
  t.match(await a.call('GET', '/api/v1/rollouts/current'), { status: 404 });
  t.match(await a.call('POST', '/api/v1/rollouts', body, { 'if-match': '"0"' }), { status: 201 });
});

const invalid: [what: string, body: unknown, field: RegExp][] = [
  ['no body', undefined, /^body must be/],
  ['an array', [1], /^body must be a JSON object$/],
  ['no steps', { analysis: {} }, /body\.steps is required/],
  ['empty steps', { steps: [] }, /body\.steps must have at least one step/],
  ['weights decreasing', { steps: [{ weight: 25, holdSeconds: 1 }, { weight: 5, holdSeconds: 1 }] }, /body\.steps\[1\]\.weight must be greater than steps\[0\]\.weight/],
  ['weights equal', { steps: [{ weight: 5, holdSeconds: 1 }, { weight: 5, holdSeconds: 1 }] }, /body\.steps\[1\]\.weight/],
  ['weight 0', { steps: [{ weight: 0, holdSeconds: 1 }] }, /body\.steps\[0\]\.weight must be > 0/],
  ['weight 101', { steps: [{ weight: 101, holdSeconds: 1 }] }, /body\.steps\[0\]\.weight/],
  ['weight as a string', { steps: [{ weight: '5', holdSeconds: 1 }] }, /body\.steps\[0\]\.weight must be a number/],
  ['too many decimals', { steps: [{ weight: 5.123456, holdSeconds: 1 }] }, /body\.steps\[0\]\.weight .*4 decimals/],
  ['negative hold', { steps: [{ weight: 5, holdSeconds: -1 }] }, /body\.steps\[0\]\.holdSeconds must be >= 0/],
  ['missing hold', { steps: [{ weight: 5 }] }, /body\.steps\[0\]\.holdSeconds is required/],
  ['unknown step field', { steps: [{ weight: 5, holdSeconds: 1, pause: true }] }, /body\.steps\[0\]\.pause is not allowed/],
  ['unknown top-level field', { steps: [{ weight: 5, holdSeconds: 1 }], dryRun: true }, /body\.dryRun is not allowed/],
  ['unknown analysis field', { steps: [{ weight: 5, holdSeconds: 1 }], analysis: { maxErrors: 3 } }, /body\.analysis\.maxErrors is not allowed/],
  ['error rate above 1', { steps: [{ weight: 5, holdSeconds: 1 }], analysis: { maxErrorRate: 2 } }, /body\.analysis\.maxErrorRate must be <= 1/],
  ['negative error rate', { steps: [{ weight: 5, holdSeconds: 1 }], analysis: { maxErrorRate: -0.1 } }, /body\.analysis\.maxErrorRate must be >= 0/],
  ['ratio below 1', { steps: [{ weight: 5, holdSeconds: 1 }], analysis: { maxP99Ratio: 0.5 } }, /body\.analysis\.maxP99Ratio must be >= 1/],
  ['interval 0', { steps: [{ weight: 5, holdSeconds: 1 }], analysis: { intervalSeconds: 0 } }, /body\.analysis\.intervalSeconds must be > 0/],
  ['fractional minRequests', { steps: [{ weight: 5, holdSeconds: 1 }], analysis: { minRequests: 2.5 } }, /body\.analysis\.minRequests must be an integer/],
  ['p99 as a string', { steps: [{ weight: 5, holdSeconds: 1 }], analysis: { maxP99Ms: '800' } }, /body\.analysis\.maxP99Ms must be a number/],
  ['onSuccess other', { steps: [{ weight: 5, holdSeconds: 1 }], onSuccess: 'pause' }, /body\.onSuccess must be "promote"/],
  ['reason not a string', { steps: [{ weight: 5, holdSeconds: 1 }], reason: 7 }, /body\.reason must be a string/],
];

t.test('invalid bodies get a 400 naming the field and change nothing', async (t) => {
  const a = await startAdminWithRollouts(t);
  for (const [what, b, field] of invalid) {
    const res = await a.call('POST', '/api/v1/rollouts', b);
    t.equal(res.status, 400, what);
    t.match(res.json, { statusCode: 400, error: 'Bad Request', message: field }, what);
  }
  t.match(await a.call('POST', '/api/v1/rollouts', 'steps=1', { 'content-type': 'text/plain' }), { status: 415 });
  t.match(await a.call('POST', '/api/v1/rollouts', '{"steps":', {}), { status: 400 });
  t.equal(a.state.state.version, 0, 'nothing changed');
  t.match(await a.call('GET', '/api/v1/rollouts/current'), { status: 404 });
});

t.test('defaults fill missing analysis fields; a reason in the body is the event reason', async (t) => {
  const a = await startAdminWithRollouts(t);
  const res = await a.call('POST', '/api/v1/rollouts', { steps: [{ weight: 10, holdSeconds: 0 }], reason: 'release 1.2' });
  t.equal(res.status, 201);
  t.same(res.json.analysisSettings, {
    intervalSeconds: 10,
    minRequests: 50,
    maxErrorRate: 0.02,
    maxP99Ms: 800,
    maxP99Ratio: 1.5,
    alpha: 0.01,
    minErrorRateDelta: 0.005,
    p99ToleranceMs: 50,
  });
  t.equal(res.json.onSuccess, 'promote');
  const events = (await a.call('GET', '/api/v1/events')).json;
  t.match(events[0].reason, /^rollout \w+: green canary, step 1\/1 at 10% for 0s: release 1.2$/);
});

t.test('rollout routes need the bearer token', async (t) => {
  const a = await startAdminWithRollouts(t);
  t.match(await a.call('GET', '/api/v1/rollouts/current', undefined, { authorization: 'Bearer wrong' }), { status: 401 });
  t.match(await a.call('POST', '/api/v1/rollouts', body, { authorization: '' }), { status: 401 });
  t.equal(a.state.state.version, 0);
});
