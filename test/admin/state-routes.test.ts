import path from 'node:path';
import t from 'tap';
import { FileStore } from '../../src/state/file-store.ts';
import { startAdmin } from '../helpers/admin.ts';
import { manualClock } from '../state/store-conformance.ts';

t.test('GET /api/v1/state: the contract shape with an ETag', async (t) => {
  const clock = manualClock();
  let summary: unknown = null;
  const admin = await startAdmin(t, {
    clock,
    seed: { active: 'green', weight: 12.3456 },
    deps: { sticky: { by: 'header', cookie: 'turnout_id', header: 'x-user' }, rolloutSummary: () => summary },
  });
  const res = await admin.call('GET', '/api/v1/state');
  t.equal(res.status, 200);
  t.equal(res.headers.get('etag'), '"0"');
  t.match(res.headers.get('content-type'), /^application\/json/);
  t.same(res.json, {
    version: 0,
    active: 'green',
    canary: { colour: 'blue', weight: 12.3456 },
    split: { blue: 12.3456, green: 87.6544 },
    sticky: { by: 'header', cookie: 'turnout_id', header: 'x-user' },
    updatedAt: '2026-01-01T00:00:00.000Z',
    rollout: null,
    idle: { colour: 'blue', since: null, free: false },
    verification: null,
  });
  summary = { status: 'running', step: 1, steps: 3 };
  t.same((await admin.call('GET', '/api/v1/state')).json.rollout, summary, 'the rollout summary comes from deps');
});

t.test('weight, flip, rollback: 200 with the new state, versions +1, one event each', async (t) => {
  const clock = manualClock();
  const admin = await startAdmin(t, { clock });
  const changes: [string, string, unknown, Record<string, string>, object][] = [
    ['PUT', '/api/v1/canary', { weight: 8 }, {}, { version: 1, active: 'blue', canary: { colour: 'green', weight: 8 }, split: { blue: 92, green: 8 } }],
    ['PUT', '/api/v1/canary', { weight: 0.0001, reason: 'tiny' }, { 'x-turnout-actor': 'alice' }, { version: 2, split: { blue: 99.9999, green: 0.0001 } }],
    ['POST', '/api/v1/flip', undefined, { 'x-turnout-reason': 'release 42' }, { version: 3, active: 'green', canary: { colour: 'blue', weight: 0 }, split: { blue: 0, green: 100 } }],
    ['PUT', '/api/v1/canary', { weight: 100 }, {}, { version: 4, split: { blue: 100, green: 0 } }],
    ['POST', '/api/v1/rollback', { reason: 'errors up' }, { 'x-turnout-reason': 'header loses' }, { version: 5, active: 'green', canary: { colour: 'blue', weight: 0 } }],
    ['POST', '/api/v1/rollback', {}, {}, { version: 6, active: 'blue', canary: { colour: 'green', weight: 0 } }],
  ];
  for (const [method, route, body, headers, expected] of changes) {
    clock.advance(1000);
    const res = await admin.call(method, route, { body, headers });
    t.equal(res.status, 200, `${method} ${route}`);
    t.match(res.json, expected, `${method} ${route} → ${JSON.stringify(expected)}`);
    t.equal(res.headers.get('etag'), `"${res.json.version}"`);
    t.same(Object.keys(res.json).sort(), ['active', 'canary', 'idle', 'rollout', 'split', 'sticky', 'updatedAt', 'verification', 'version']);
  }
  const nothing = await admin.call('POST', '/api/v1/rollback');
  t.equal(nothing.status, 409, 'nothing left to undo');
  t.same(nothing.json, { statusCode: 409, code: 'TURNOUT_ERR_CONFLICT', error: 'Conflict', message: 'nothing to roll back: the canary weight is 0 and no flip is left to undo' });

  const events = await admin.call('GET', '/api/v1/events');
  t.equal(events.status, 200);
  t.same(events.json, [
    { at: '2026-01-01T00:00:06.000Z', version: 6, action: 'rollback', from: { active: 'green', weight: 0 }, to: { active: 'blue', weight: 0 }, actor: 'admin', reason: '' },
    { at: '2026-01-01T00:00:05.000Z', version: 5, action: 'rollback', from: { active: 'green', weight: 100 }, to: { active: 'green', weight: 0 }, actor: 'admin', reason: 'errors up' },
    { at: '2026-01-01T00:00:04.000Z', version: 4, action: 'weight', from: { active: 'green', weight: 0 }, to: { active: 'green', weight: 100 }, actor: 'admin', reason: '' },
    { at: '2026-01-01T00:00:03.000Z', version: 3, action: 'flip', from: { active: 'blue', weight: 0.0001 }, to: { active: 'green', weight: 0 }, actor: 'admin', reason: 'release 42' },
    { at: '2026-01-01T00:00:02.000Z', version: 2, action: 'weight', from: { active: 'blue', weight: 8 }, to: { active: 'blue', weight: 0.0001 }, actor: 'alice', reason: 'tiny' },
    { at: '2026-01-01T00:00:01.000Z', version: 1, action: 'weight', from: { active: 'blue', weight: 0 }, to: { active: 'blue', weight: 8 }, actor: 'admin', reason: '' },
  ]);
  t.same((await admin.call('GET', '/api/v1/events?limit=2')).json.map((e: { version: number }) => e.version), [6, 5]);
  t.same(admin.state.snapshot, { version: 6, active: 'blue', canary: 'green', weight: 0, threshold: 0, shadowPercent: 0 }, 'the data plane sees the last change');
});

t.test('If-Match', async (t) => {
  const admin = await startAdmin(t);
  await admin.call('PUT', '/api/v1/canary', { body: { weight: 1 } });
  const cases: [string, string, unknown, string, number][] = [
    ['PUT', '/api/v1/canary', { weight: 2 }, '"0"', 412],
    ['POST', '/api/v1/flip', undefined, '"5"', 412],
    ['POST', '/api/v1/rollback', undefined, 'W/"1"', 412],
    ['PUT', '/api/v1/canary', { weight: 3 }, '"1"', 200],
    ['PUT', '/api/v1/canary', { weight: 4 }, '*', 200],
    ['POST', '/api/v1/flip', undefined, ' "3" ', 200],
  ];
  for (const [method, route, body, ifMatch, status] of cases) {
    const before = admin.state.state;
    const res = await admin.call(method, route, { body, headers: { 'if-match': ifMatch } });
    t.equal(res.status, status, `${method} ${route} If-Match ${ifMatch}: ${status}`);
    if (status === 412) {
      t.same(Object.keys(res.json).sort(), ['code', 'error', 'message', 'statusCode']);
      t.match(res.json.message, /does not match the current version/);
      t.equal(admin.state.state, before, 'nothing changed');
    }
  }
  t.equal((await admin.state.events(100)).length, 4);
});

t.test('20 concurrent writers over HTTP', async (t) => {
  const admin = await startAdmin(t);
  const weights = Array.from({ length: 20 }, (_, i) => (i + 1) * 5);
  const results = await Promise.all(
    weights.map((w) => admin.call('PUT', '/api/v1/canary', { body: { weight: w }, headers: { 'x-turnout-actor': `w${w}` } })),
  );
  t.ok(results.every((r) => r.status === 200), 'all 200');
  t.same(results.map((r) => r.json.version).sort((a: number, b: number) => a - b), Array.from({ length: 20 }, (_, i) => i + 1));
  for (const r of results) {
    t.equal(r.json.canary.weight, weights[results.indexOf(r)], 'each answer shows its own write');
  }
  const events = (await admin.call('GET', '/api/v1/events?limit=100')).json as { version: number; actor: string; to: { weight: number } }[];
  t.same(events.map((e) => e.version), Array.from({ length: 20 }, (_, i) => 20 - i), 'strictly sequential, none lost');
  t.equal(new Set(events.map((e) => e.actor)).size, 20);
  const final = (await admin.call('GET', '/api/v1/state')).json;
  t.ok(weights.includes(final.canary.weight), 'the final state is one of the writes');
  t.equal(final.canary.weight, events[0]?.to.weight);
});

t.test('20 concurrent flips with the same If-Match: exactly one wins', async (t) => {
  const admin = await startAdmin(t);
  const results = await Promise.all(Array.from({ length: 20 }, () => admin.call('POST', '/api/v1/flip', { headers: { 'if-match': '"0"' } })));
  t.same(results.map((r) => r.status).sort(), [200, ...Array(19).fill(412)]);
  t.equal(admin.state.state.version, 1);
});

t.test('restart durability: a new server on the same state file shows every change', async (t) => {
  const file = path.join(t.testdir(), 'state.json');
  const first = await startAdmin(t, { store: new FileStore(file) });
  await first.call('PUT', '/api/v1/canary', { body: { weight: 30 } });
  await first.call('POST', '/api/v1/flip', { body: { reason: 'go' } });
  await first.call('PUT', '/api/v1/canary', { body: { weight: 2.5 } });
  await first.close();
  const second = await startAdmin(t, { store: new FileStore(file), seed: { active: 'blue', weight: 50 } });
  const state = (await second.call('GET', '/api/v1/state')).json;
  t.match(state, { version: 3, active: 'green', canary: { colour: 'blue', weight: 2.5 } }, 'persisted state wins over the seed');
  t.same((await second.call('GET', '/api/v1/events')).json.map((e: { action: string }) => e.action), ['weight', 'flip', 'weight']);
  t.equal((await second.call('POST', '/api/v1/rollback')).json.canary.weight, 0);
  t.equal((await second.call('POST', '/api/v1/rollback')).json.active, 'blue', 'the flip from before the restart is undone');
});

t.test('/healthz and /readyz', async (t) => {
  const admin = await startAdmin(t);
  t.same((await admin.call('GET', '/healthz', { auth: false })).json, { status: 'ok' });
  t.same((await admin.call('GET', '/readyz', { auth: false })).json, { status: 'ready' });
  admin.setReady(false);
  const res = await admin.call('GET', '/readyz', { auth: false });
  t.equal(res.status, 503);
  t.same(res.json, { statusCode: 503, code: 'TURNOUT_ERR_NO_HEALTHY_TARGET', error: 'Service Unavailable', message: 'the active colour has no healthy target' });
});

t.test('a store failure is a 500 that tells the operator why, and nothing changes', async (t) => {
  const file = path.join(t.testdir(), 'data', 'state.json');
  const admin = await startAdmin(t, { store: new FileStore(file) });
  const { promises: fs } = await import('node:fs');
  await fs.rm(path.dirname(file), { recursive: true });
  await fs.writeFile(path.dirname(file), 'in the way');
  const res = await admin.call('PUT', '/api/v1/canary', { body: { weight: 5 } });
  t.equal(res.status, 500);
  t.same(Object.keys(res.json).sort(), ['code', 'error', 'message', 'statusCode']);
  t.match(res.json, { statusCode: 500, error: 'State Error', message: /state\.json cannot be written/ });
  t.equal(admin.state.state.version, 0);
});
