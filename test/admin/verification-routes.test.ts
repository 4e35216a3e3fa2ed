// The admin API of CONTRACT §11: `verify` on POST /api/v1/flip (strict, 400 naming the field),
// `idle` and `verification` in GET /api/v1/state, the revert lever, GET /api/v1/verification.
import t from 'tap';
import { buildAdminServer } from '../../src/admin/server.ts';
import { VerificationController } from '../../src/rollout/verification.ts';
import { StateManager } from '../../src/state/manager.ts';
import { MemoryStore } from '../../src/state/memory-store.ts';
import { FakeWindows, T0 } from '../rollout/harness.ts';

const TOKEN = 'test-token-0123456789';

async function server(t: { teardown(fn: () => unknown): void }) {
  let now = T0;
  const clock = { now: () => now };
  const state = await StateManager.open({ store: new MemoryStore(), seed: { active: 'blue', weight: 0 }, clock });
  const windows = new FakeWindows();
  const verification = new VerificationController({ state, windows, clock, newId: () => 'v1' });
  const app = await buildAdminServer({ token: TOKEN, state, isReady: () => true, verification });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(async () => {
    await app.close();
    await state.close();
  });
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as any };
  };
  return { state, windows, verification, call, at: async (s: number) => ((now = T0 + s * 1000), verification.tick()) };
}

t.test('a bad verify is a 400 naming the field and changes nothing', async (t) => {
  const s = await server(t);
  const rows: [unknown, string][] = [
    [{ verify: { seconds: -1 } }, 'body.verify.seconds must be >= 1'],
    [{ verify: { seconds: '5' } }, 'body.verify.seconds must be a number'],
    [{ verify: { seconds: 5, maxErrorRate: 1.5 } }, 'body.verify.maxErrorRate must be <= 1'],
    [{ verify: { seconds: 5, extra: 1 } }, 'body.verify.extra is not allowed'],
    [{ verify: 10 }, 'body.verify must be an object'],
    [{ verify: {} }, 'body.verify.seconds is required'],
    [{ verfy: { seconds: 5 } }, 'body.verfy is not allowed'],
  ];
  for (const [body, message] of rows) {
    const res = await s.call('POST', '/api/v1/flip', body);
    t.equal(res.status, 400, JSON.stringify(body));
    t.match(res.json, { statusCode: 400, message: new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) });
  }
  t.equal(s.state.state.version, 0, 'nothing changed');
});

t.test('flip with verify, the state while running, the lever, and after', async (t) => {
  const s = await server(t);
  const none = await s.call('GET', '/api/v1/state');
  t.match(none.json, { idle: { colour: 'green', since: null, free: false }, verification: null });
  t.equal((await s.call('GET', '/api/v1/verification')).status, 404);
  t.equal((await s.call('POST', '/api/v1/verification/revert')).status, 404, 'nothing to revert');

  const flip = await s.call('POST', '/api/v1/flip', { reason: 'release 9', verify: { seconds: 30, intervalSeconds: 10, minRequests: 20 } }, { 'x-turnout-actor': 'ci' });
  t.equal(flip.status, 200);
  t.match(flip.json, {
    version: 1,
    active: 'green',
    idle: { colour: 'blue', since: '2026-01-01T00:00:00.000Z', free: false },
    verification: { id: 'v1', status: 'running', colour: 'green', from: 'blue', until: '2026-01-01T00:00:30.000Z', remainingSeconds: 30, verdicts: [], baseline: { requests: 1000 } },
  });
  await s.at(10);
  const mid = await s.call('GET', '/api/v1/state');
  t.match(mid.json.verification, { status: 'running', remainingSeconds: 20, verdicts: [{ result: 'pass', at: '2026-01-01T00:00:10.000Z' }] });
  t.same((await s.call('GET', '/api/v1/verification')).json, mid.json.verification);

  const stale = await s.call('POST', '/api/v1/verification/revert', {}, { 'if-match': '"0"' });
  t.equal(stale.status, 412, 'the lever honours If-Match');
  const revert = await s.call('POST', '/api/v1/verification/revert', { reason: 'checkout broken' }, { 'x-turnout-actor': 'dashboard' });
  t.equal(revert.status, 200);
  t.match(revert.json, { active: 'blue', verification: { status: 'reverted', reason: 'checkout broken' }, idle: { colour: 'green', free: false } });
  const events = (await s.call('GET', '/api/v1/events')).json as { action: string; actor: string; reason: string }[];
  t.match(events.map((e) => [e.action, e.actor]), [['flip.revert', 'dashboard'], ['flip', 'ci']]);
  t.match(events[0]!.reason, /^verification v1: green failed, back to blue: checkout broken$/);
});

t.test('a flip without a body (and verify: false) still works as before', async (t) => {
  const s = await server(t);
  const res = await s.call('POST', '/api/v1/flip');
  t.equal(res.status, 200);
  t.match(res.json, { active: 'green', verification: null });
  const off = await s.call('POST', '/api/v1/flip', { verify: false });
  t.equal(off.status, 200);
  t.match(off.json, { active: 'blue', verification: null, idle: { colour: 'green', free: false } });
});
