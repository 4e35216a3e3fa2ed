// Webhooks against real receivers on 127.0.0.1: signed JSON for every event, retries with
// backoff, failures counted, and never in the way of the controller. Wired as app.ts wires it:
// a StateManager change listener (notify/state-webhooks.ts), so the controller's own commits fire too.
import t from 'tap';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { RolloutController } from '../../src/rollout/controller.ts';
import { notifyStateChanges } from '../../src/notify/state-webhooks.ts';
import { signature, WebhookNotifier } from '../../src/notify/webhooks.ts';
import { StateManager } from '../../src/state/manager.ts';
import { MemoryStore } from '../../src/state/memory-store.ts';
import { deadPort, startUpstream } from '../helpers/upstream.ts';
import { FakeWindows, steps, T0 } from '../rollout/harness.ts';

const SECRET = 'shh-0123456789';

function verify(body: string, header: string | string[] | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
  const got = Buffer.from(String(header));
  return got.length === expected.length && timingSafeEqual(got, expected);
}

t.test('signature is the GitHub-style sha256=<hex> HMAC of the body', async (t) => {
  t.equal(signature('key', 'The quick brown fox jumps over the lazy dog'), 'sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8');
});

t.test('every state event reaches every receiver as signed JSON, including the controller abort', async (t) => {
  const a = await startUpstream(t, 'hook-a');
  const b = await startUpstream(t, 'hook-b');
  let now = T0;
  const clock = { now: () => now };
  const state = await StateManager.open({ store: new MemoryStore(), seed: { active: 'blue', weight: 0 }, clock });
  const windows = new FakeWindows();
  const notifier = new WebhookNotifier({ urls: [a.url + '/hook', b.url], secret: SECRET });
  const unsubscribe = notifyStateChanges(state, notifier, clock);
  const rollouts = new RolloutController({ state, windows, clock });
  t.teardown(async () => {
    rollouts.stop();
    unsubscribe();
    notifier.close();
    await state.close();
  });

  await state.setWeight(3, { actor: 'erin' });
  await rollouts.create({ steps: steps('10:30'), analysis: { intervalSeconds: 10, minRequests: 20 } }, { actor: 'ci' });
  windows.set('green', { requests: 100, errors: 40 });
  now += 10_000;
  await rollouts.tick();
  await notifier.idle();

  for (const hook of [a, b]) {
    t.equal(hook.seen.length, 3, 'weight, rollout.start, rollout.abort');
    for (const seen of hook.seen) {
      t.equal(seen.method, 'POST');
      t.equal(seen.headers['content-type'], 'application/json');
      t.ok(verify(seen.body, seen.headers['x-turnout-signature']), 'signature verifies');
      t.match(seen.headers['x-turnout-delivery'], /^[0-9a-f-]{36}$/);
    }
  }
  t.equal(a.seen[0]!.url, '/hook');
  const bodies = a.seen.map((s) => JSON.parse(s.body));
  t.same(bodies.map((x) => x.event.action), ['weight', 'rollout.start', 'rollout.abort']);
  t.same(a.seen.map((s) => s.headers['x-turnout-event']), ['weight', 'rollout.start', 'rollout.abort']);
  t.match(bodies[0], { event: { version: 1, actor: 'erin', to: { weight: 3 } }, rollout: null });
  t.match(bodies[2], { event: { action: 'rollout.abort', actor: 'rollout', reason: /errorRate/ }, rollout: { status: 'aborted', weight: 0 } });
  t.match(notifier.stats(), { delivered: 6, failures: 0, failedAttempts: 0, pending: 0 });
});

t.test('a receiver that fails twice gets the same delivery a third time', async (t) => {
  const hook = await startUpstream(t, 'flaky');
  let calls = 0;
  hook.handle((_req, res) => {
    calls++;
    res.writeHead(calls <= 2 ? 503 : 204);
    res.end();
  });
  const n = new WebhookNotifier({ urls: [hook.url], secret: SECRET, backoffMs: 5 });
  t.teardown(() => n.close());
  n.send('weight', { hello: 'world' });
  await n.idle();
  t.equal(hook.seen.length, 3);
  t.equal(new Set(hook.seen.map((s) => s.headers['x-turnout-delivery'])).size, 1, 'one delivery id across retries');
  t.ok(hook.seen.every((s) => s.body === '{"hello":"world"}' && verify(s.body, s.headers['x-turnout-signature'])));
  t.match(n.stats(), { delivered: 1, failures: 0, failedAttempts: 2 });
});

t.test('a dead receiver is counted as a failure and logged, and send() never throws or blocks', async (t) => {
  const port = await deadPort();
  const logged: string[] = [];
  const objects: object[] = [];
  const logger = {
    info() {},
    warn: (o: object) => void objects.push(o),
    error: (o: object, msg?: string) => void (logged.push(msg ?? ''), objects.push(o)),
  };
  const n = new WebhookNotifier({ urls: [`http://127.0.0.1:${port}/hooks/T0KEN-SECRET`], secret: '', backoffMs: 1, maxAttempts: 3, logger });
  t.teardown(() => n.close());
  const before = process.hrtime.bigint();
  n.send('flip', { a: 1 });
  n.send('flip', { a: 2 });
  t.ok(process.hrtime.bigint() - before < 50_000_000n, 'send returns at once');
  t.equal(n.stats().pending, 2);
  await n.idle();
  t.match(n.stats(), { delivered: 0, failures: 2, failedAttempts: 6, pending: 0 });
  t.same(logged, ['webhook delivery failed', 'webhook delivery failed']);
  t.equal(objects.length, 6, 'two retries and one failure per delivery');
  t.notMatch(JSON.stringify(objects), /T0KEN-SECRET/, 'the URL path (often a token) is not logged');
  t.match(objects.at(-1), { url: `http://127.0.0.1:${port}/…`, type: 'flip', error: /ECONNREFUSED|connect/ });
});

t.test('no secret: no signature header; beyond maxPending: dropped and counted', async (t) => {
  const hook = await startUpstream(t, 'slow');
  const held: (() => void)[] = [];
  hook.handle((_req, res) => held.push(() => res.end()));
  const n = new WebhookNotifier({ urls: [hook.url], secret: '', maxPending: 2 });
  t.teardown(() => n.close());
  n.send('weight', { i: 1 });
  n.send('weight', { i: 2 });
  n.send('weight', { i: 3 });
  t.match(n.stats(), { pending: 2, dropped: 1, failures: 1 });
  while (held.length < 2) await new Promise((r) => setTimeout(r, 5));
  held.forEach((release) => release());
  await n.idle();
  t.match(n.stats(), { delivered: 2, dropped: 1, failures: 1 });
  t.equal(hook.seen[0]!.headers['x-turnout-signature'], undefined);
});

t.test('close() cancels retries and in-flight attempts', async (t) => {
  const hook = await startUpstream(t, 'stuck');
  hook.handle(() => {}); // never answers
  const n = new WebhookNotifier({ urls: [hook.url], secret: SECRET, timeoutMs: 60_000 });
  n.send('weight', {});
  while (hook.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
  n.close();
  await n.idle();
  t.match(n.stats(), { delivered: 0, failures: 1, pending: 0 });
  n.send('weight', {});
  t.equal(n.stats().pending, 0, 'closed: nothing more is sent');
});
