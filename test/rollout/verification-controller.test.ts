// The verification controller as a state machine (CONTRACT §11), driven by a manual clock and
// tick(): no timers, no sleeping. FakeWindows: blue 1000 requests / 0 errors / p99 20 ms,
// green 100 / 0 / 20 ms unless a test says otherwise.
import t from 'tap';
import { createMemoryStorage } from '../../src/state/memory-store.ts';
import { admin, verifier } from './verification-harness.ts';

const verify = { seconds: 30, intervalSeconds: 10, minRequests: 20, maxErrorRate: 0.02, maxP99Ms: 800, maxP99Ratio: 1.5 };

t.test('a flip with verify is one commit: green active, the period running, the old colour captured', async (t) => {
  const h = await verifier(t);
  const state = await h.verification.flip(verify, { actor: 'alice', reason: 'release 42' });
  t.match(state, { version: 1, active: 'green', weight: 0 });
  t.match(state.verification, {
    id: 'v1', status: 'running', colour: 'green', from: 'blue', flipVersion: 1,
    startedAt: '2026-01-01T00:00:00.000Z', until: '2026-01-01T00:00:30.000Z', endedAt: null,
    baseline: { requests: 1000, errors: 0, p99Ms: 20, spanSeconds: 60 },
  });
  t.same(state.idle, { since: '2026-01-01T00:00:00.000Z', free: false });
  t.same(h.windows.calls, [{ colour: 'blue', spanSeconds: 60 }], 'the old colour read over the whole window, at flip time');
  t.equal(h.events.length, 1);
  t.match(h.events[0], { action: 'flip', actor: 'alice', reason: /^release 42; green active with a 30s verification/ });
  t.match(h.verification.view(), { status: 'running', remainingSeconds: 30, verdicts: [] });
});

t.test('a failing green is flipped straight back at the first verdict, naming the metric and both values', async (t) => {
  const h = await verifier(t);
  await h.verification.flip(verify, admin);
  h.windows.set('green', { requests: 100, errors: 30 });
  await h.at(5);
  t.equal(h.state.state.active, 'green', 'no verdict before the first interval');
  await h.at(10);
  t.match(h.state.state, { active: 'blue', weight: 0, flips: [] }, 'back on blue; the flip is off the rollback list');
  const v = h.state.state.verification!;
  t.match(v, { status: 'reverted', endedAt: '2026-01-01T00:00:10.000Z' });
  t.match(v.reason, /^errorRate: green 0\.3 \(30\/100\), blue before the flip 0 \(0\/1000\); above maxErrorRate 0\.02/);
  t.equal(v.verdicts.length, 1, 'the verdict is persisted with the revert');
  const revert = h.events.at(-1)!;
  t.match(revert, { action: 'flip.revert', actor: 'verify', from: { active: 'green', weight: 0 }, to: { active: 'blue', weight: 0 } });
  t.match(revert.reason, /^verification v1: green failed, back to blue: errorRate: green 0\.3/);
  t.same(h.state.state.idle, { since: '2026-01-01T00:00:10.000Z', free: false }, 'green is idle now, and not free');
  await h.at(20);
  t.equal(h.events.length, 2, 'a reverted period does nothing more');
});

t.test('a latency regression against the old colour reverts on the ratio', async (t) => {
  const h = await verifier(t);
  await h.verification.flip(verify, admin);
  h.windows.set('green', { p99: 320 });
  await h.at(10);
  t.equal(h.state.state.active, 'blue');
  t.match(h.state.state.verification?.reason, /^p99Ratio: green 320ms vs blue before the flip 20ms = 16; above maxP99Ratio 1\.5/);
});

t.test('a healthy green is verified at the end of the period; the idle colour becomes free', async (t) => {
  const h = await verifier(t);
  await h.verification.flip(verify, admin);
  await h.at(10);
  await h.at(20);
  t.equal(h.state.state.verification?.status, 'running', 'passing verdicts before the end keep it running');
  t.equal(h.verification.view()?.verdicts.length, 2);
  t.equal(h.state.state.version, 1, 'verdicts bump no version');
  await h.at(30);
  const s = h.state.state;
  t.match(s, { active: 'green', weight: 0, idle: { since: '2026-01-01T00:00:00.000Z', free: true } });
  t.match(s.verification, { status: 'verified', endedAt: '2026-01-01T00:00:30.000Z', reason: '3 of 3 verdicts passed over 30s; last: green 100 requests, 0 errors, p99 20ms over 31s (before the flip: blue 1000 requests, 0 errors, p99 20ms over 60s)' });
  t.equal(s.verification?.verdicts.length, 3);
  t.match(h.events.at(-1), { action: 'flip.verified', actor: 'verify', reason: /^verification v1: green verified; blue is free/ });
  // Judged since the flip (plus its partial second), never before it.
  t.same(h.windows.calls.slice(1).map((c) => [c.colour, c.spanSeconds]), [['green', 11], ['green', 21], ['green', 31]]);
});

t.test('an interval that does not divide the period still judges at its end', async (t) => {
  const h = await verifier(t);
  await h.verification.flip({ ...verify, seconds: 25 }, admin);
  for (const s of [10, 20, 25]) await h.at(s);
  t.equal(h.state.state.verification?.status, 'verified');
  t.same(h.state.state.verification?.verdicts.map((v) => v.at.slice(17, 19)), ['10', '20', '25']);
});

t.test('a period shorter than its interval is judged at its end', async (t) => {
  const h = await verifier(t);
  await h.verification.flip({ ...verify, seconds: 5 }, admin);
  await h.at(4);
  t.equal(h.verification.view()?.verdicts.length, 0);
  await h.at(5);
  t.match(h.state.state.verification, { status: 'verified', verdicts: [{ at: '2026-01-01T00:00:05.000Z' }] });
});

t.test('too little traffic is inconclusive: it waits past the period until a verdict passes', async (t) => {
  const h = await verifier(t);
  await h.verification.flip(verify, admin);
  h.windows.set('green', { requests: 5, errors: 5 });
  for (let s = 10; s <= 60; s += 10) await h.at(s);
  const v = h.verification.view()!;
  t.match(v, { status: 'running', remainingSeconds: 0 });
  t.ok(v.verdicts.every((x) => x.result === 'inconclusive'));
  t.match(v.verdicts[0]!.reasons[0], /^requests: green 5 < minRequests 20/);
  t.equal(h.state.state.active, 'green', 'never reverted on too little evidence');
  h.windows.set('green', { requests: 100, errors: 0 });
  await h.at(70);
  t.equal(h.state.state.verification?.status, 'verified');
});

t.test('a manual weight change cancels the period in its own commit', async (t) => {
  const h = await verifier(t);
  await h.verification.flip(verify, admin);
  await h.at(10);
  await h.state.setWeight(10, { actor: 'bob' });
  t.match(h.state.state.verification, { status: 'cancelled', endedAt: '2026-01-01T00:00:10.000Z', reason: 'cancelled by a manual weight (version 2, by bob)' });
  t.same(h.events.map((e) => e.action), ['flip', 'weight'], 'the change\'s own event is the record');
  t.equal(h.verification.view()?.verdicts.length, 1, 'the view keeps the verdicts taken before the cancel');
  h.windows.set('green', { requests: 100, errors: 90 });
  await h.at(20);
  await h.at(30);
  t.equal(h.events.length, 2, 'a cancelled period is never judged again');
  t.match(h.state.state, { active: 'green', weight: 10, idle: { free: false } });
});

t.test('a manual rollback or plain flip cancels; a flip with verify starts a new period', async (t) => {
  const h = await verifier(t);
  await h.verification.flip(verify, admin);
  await h.state.rollback(admin);
  t.match(h.state.state, { active: 'blue', verification: { status: 'cancelled', reason: /manual rollback/ } });
  await h.verification.flip(verify, admin);
  t.match(h.state.state.verification, { id: 'v2', status: 'running', colour: 'green' });
  await h.state.flip(admin);
  t.match(h.state.state, { active: 'blue', verification: { id: 'v2', status: 'cancelled', reason: /manual flip/ } });
  await h.verification.flip(verify, admin);
  await h.verification.flip({ ...verify, seconds: 60 }, admin);
  t.match(h.state.state.verification, { id: 'v4', status: 'running', colour: 'blue', from: 'green' }, 'a flip with verify replaces the running period');
});

t.test('"revert now": the lever flips back at once, by whoever pulled it', async (t) => {
  const h = await verifier(t);
  await h.verification.flip(verify, admin);
  await h.at(10);
  const s = await h.verification.revert({ actor: 'dashboard' });
  t.match(s, { active: 'blue', verification: { status: 'reverted', reason: 'reverted by dashboard' } });
  t.equal(s.verification?.verdicts.length, 1, 'the in-memory verdicts are kept');
  t.match(h.events.at(-1), { action: 'flip.revert', actor: 'dashboard' });
  await t.rejects(h.verification.revert(admin), { code: 'TURNOUT_ERR_CONFLICT', message: 'the verification is reverted, not running' });
});

t.test('a restart resumes the period from its persisted times, judging only traffic seen since', async (t) => {
  const storage = createMemoryStorage();
  const first = await verifier(t, { storage });
  await first.verification.flip(verify, admin);
  await first.at(10);
  t.equal(first.verification.view()?.verdicts.length, 1);
  // The process dies at 15 s (nothing is written by a verdict); a new one starts at 18 s.
  const second = await verifier(t, { storage, startAt: 18 });
  second.verification.start();
  second.verification.stop();
  t.match(second.verification.view(), { status: 'running', remainingSeconds: 12, verdicts: [] });
  await second.at(25);
  t.equal(second.verification.view()?.verdicts.length, 0, 'no verdict within one interval of the restart');
  await second.at(28);
  t.equal(second.verification.view()?.verdicts.length, 1);
  t.same(second.windows.calls.at(-1), { colour: 'green', spanSeconds: 11 }, 'the span starts at the restart');
  await second.at(30);
  t.match(second.state.state, { active: 'green', idle: { free: true }, verification: { status: 'verified' } });
});

t.test('a verdict after a restart can still revert', async (t) => {
  const storage = createMemoryStorage();
  const first = await verifier(t, { storage });
  await first.verification.flip(verify, admin);
  const second = await verifier(t, { storage, startAt: 3 });
  second.verification.start();
  second.verification.stop();
  second.windows.set('green', { requests: 200, errors: 100 });
  await second.at(13);
  t.match(second.state.state, { active: 'blue', verification: { status: 'reverted' } });
});

t.test('routing.verify is the default of every flip, a rollout promotion included; verify: false skips it', async (t) => {
  const h = await verifier(t, { defaults: { seconds: 20, intervalSeconds: 5, minRequests: 20 } });
  await h.verification.flip(undefined, admin);
  t.match(h.state.state.verification, { status: 'running', until: '2026-01-01T00:00:20.000Z', settings: { seconds: 20, intervalSeconds: 5, minRequests: 20, maxErrorRate: 0.02 } });
  await h.verification.flip({ seconds: 40 }, admin);
  t.match(h.state.state.verification, { settings: { seconds: 40, intervalSeconds: 5, minRequests: 20 } }, 'the body overrides field by field');
  await h.verification.flip(false, admin);
  t.match(h.state.state, { active: 'green', verification: { status: 'cancelled' } }, 'verify: false flips without a period');

  await h.rollouts.create({ steps: [{ weight: 50, holdSeconds: 0 }] }, admin);
  await h.rollouts.promote(admin);
  const s = h.state.state;
  t.match(s, { active: 'blue', verification: { id: 'v3', status: 'running', colour: 'blue', from: 'green' } });
  t.match(h.events.at(-1), { action: 'rollout.promote', reason: /20s verification/ });
  await h.at(5);
  await h.at(10);
  await h.at(15);
  await h.at(20);
  t.equal(h.state.state.verification?.status, 'verified');
});

t.test('a flip without verify and no default has no period; idle.free stays false', async (t) => {
  const h = await verifier(t);
  const s = await h.verification.flip(undefined, admin);
  t.match(s, { active: 'green', idle: { since: '2026-01-01T00:00:00.000Z', free: false } });
  t.equal(s.verification, undefined);
  t.equal(h.verification.view(), null);
});

t.test('a bad verify is a 400 naming the field, and nothing changes', async (t) => {
  const h = await verifier(t);
  await t.rejects(h.verification.flip({ seconds: 0 }, admin), { code: 'TURNOUT_ERR_BAD_REQUEST', message: 'body.verify.seconds must be >= 1' });
  await t.rejects(h.verification.flip({}, admin), { message: 'body.verify.seconds is required (no routing.verify default in the config)' });
  t.equal(h.state.state.version, 0);
});

t.test('a flip with verify during a rollout ends the rollout, and the rollout\'s own abort does not cancel the period', async (t) => {
  const h = await verifier(t);
  await h.rollouts.create({ steps: [{ weight: 20, holdSeconds: 600 }] }, admin);
  await h.verification.flip(verify, admin);
  // The rollout controller ends the superseded rollout in a commit of its own, right after.
  for (let i = 0; i < 100 && h.events.at(-1)?.action !== 'rollout.abort'; i++) await new Promise((resolve) => setImmediate(resolve));
  t.same(h.events.map((e) => [e.action, e.actor]), [['rollout.start', 'admin'], ['flip', 'admin'], ['rollout.abort', 'rollout']]);
  t.match(h.state.state, { active: 'green', weight: 0, verification: { status: 'running', colour: 'green' } });
  await h.state.setWeight(5, admin);
  t.equal(h.state.state.verification?.status, 'cancelled', 'a human\'s change still cancels it');
});
