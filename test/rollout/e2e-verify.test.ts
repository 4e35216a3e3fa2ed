// CONTRACT §11 end to end: the whole app in front of the demo upstreams (src/demo/upstream.ts,
// told to fail with POST /fail?rate=…), paced traffic through the proxy, a real webhook
// receiver, the verifier on its own timer. Conditions are polled with bounded deadlines; no
// assertion is on timing. The periods are real seconds (5 s) because the app's windows and the
// verifier share the system clock here; the state machine itself is tested on a manual clock in
// verification-controller.test.ts.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { startDemoUpstream } from '../../src/demo/upstream.ts';
import { signature } from '../../src/notify/webhooks.ts';
import { startApp, TEST_TOKEN, type RunningApp } from '../helpers/app.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { traffic, waitFor } from './e2e-helpers.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const node = path.resolve(here, '../../node_modules/.bin/node');

// As the rollout e2e tests: a generous latency tolerance on a shared machine.
const verify = { seconds: 5, intervalSeconds: 1, minRequests: 15, maxErrorRate: 0.02, maxP99Ms: 800, maxP99Ratio: 1.5, p99ToleranceMs: 150 };

interface StateJson {
  version: number;
  active: string;
  canary: { weight: number };
  idle: { colour: string; since: string | null; free: boolean };
  verification: null | { status: string; colour: string; from: string; until: string; reason: string; verdicts: { result: string; reasons: string[] }[] };
}

async function demo(t: { teardown(fn: () => unknown): void }) {
  const blue = await startDemoUpstream('blue', 'blue-1.0.0', 0);
  const green = await startDemoUpstream('green', 'green-2.0.0', 0);
  t.teardown(() => Promise.all([blue.close(), green.close()]));
  return { blue, green };
}

const config = (blue: string, green: string, extra: Record<string, unknown> = {}) => ({
  upstreams: { blue: { targets: [blue] }, green: { targets: [green] } },
  outlier: { consecutiveFailures: 1000, ejectMs: 10_000 },
  ...extra,
});

const stateOf = async (api: (p: string) => Promise<Response>) => (await (await api('/api/v1/state')).json()) as StateJson;
const eventsOf = async (api: (p: string) => Promise<Response>) =>
  (await (await api('/api/v1/events?limit=20')).json()) as { action: string; actor: string; reason: string }[];

async function flip(turnout: RunningApp, body: unknown): Promise<StateJson> {
  const res = await turnout.api('/api/v1/flip', { method: 'POST', body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`flip: ${res.status} ${await res.text()}`);
  return (await res.json()) as StateJson;
}

t.test('a green failing 30% is flipped back to blue at its first verdict; flip.revert and the webhook say why', async (t) => {
  const { blue, green } = await demo(t);
  await fetch(`${green.url}/fail?rate=0.3`, { method: 'POST' });
  const hook = await startUpstream(t, 'webhook');
  const turnout = await startApp(t, config(blue.url, green.url, { notify: { webhooks: [hook.url + '/turnout'], secret: 'webhook-secret' } }));
  const load = traffic(t, turnout.proxy);
  await waitFor('traffic on blue', async () => (load.seen.blue > 100 ? true : undefined));

  const flipped = await flip(turnout, { verify });
  t.match(flipped, { active: 'green', verification: { status: 'running', colour: 'green', from: 'blue' } });
  const done = await waitFor('the revert', async () => {
    const s = await stateOf(turnout.api);
    return s.verification?.status !== 'running' ? s : undefined;
  });
  t.match(done, { active: 'blue', canary: { weight: 0 }, idle: { colour: 'green', free: false }, verification: { status: 'reverted' } });
  t.equal(done.verification!.verdicts.length, 1, 'back on blue at the first verdict (within one interval)');
  t.match(done.verification!.reason, /^errorRate: green 0\.\d+ \(\d+\/\d+\), blue before the flip 0 \(0\/\d+\); above maxErrorRate 0\.02/);
  const [revert] = await eventsOf(turnout.api);
  t.match(revert, { action: 'flip.revert', actor: 'verify', reason: /^verification \w+: green failed, back to blue: errorRate: green/ });

  await waitFor('webhooks', async () => (hook.seen.length >= 2 ? true : undefined));
  const bodies = hook.seen.map((s) => JSON.parse(s.body));
  t.same(bodies.map((b) => b.event.action), ['flip', 'flip.revert']);
  t.match(bodies[1], { verification: { status: 'reverted', colour: 'green' }, idle: { colour: 'green', free: false } });
  t.ok(hook.seen.every((s) => s.headers['x-turnout-signature'] === signature('webhook-secret', s.body)), 'signed');

  // What the client got from then on: blue only.
  const total = load.seen.total;
  const greenBefore = load.seen.green;
  await waitFor('more traffic', async () => (load.seen.total > total + 100 ? true : undefined));
  t.ok(load.seen.green - greenBefore <= 4, 'green gets at most the requests in flight at the revert');
});

t.test('a healthy green ends verified after 5 s: flip.verified, blue free, the webhook delivered', async (t) => {
  const { blue, green } = await demo(t);
  const hook = await startUpstream(t, 'webhook');
  const turnout = await startApp(t, config(blue.url, green.url, { notify: { webhooks: [hook.url], secret: '' } }));
  const load = traffic(t, turnout.proxy);
  await waitFor('traffic on blue', async () => (load.seen.blue > 100 ? true : undefined));
  await flip(turnout, { verify });
  const done = await waitFor('the end of the period', async () => {
    const s = await stateOf(turnout.api);
    return s.verification?.status !== 'running' ? s : undefined;
  });
  t.match(done, { active: 'green', idle: { colour: 'blue', free: true }, verification: { status: 'verified' } });
  t.ok(done.verification!.verdicts.length >= 5, `${done.verification!.verdicts.length} verdicts`);
  t.equal(done.verification!.verdicts.at(-1)?.result, 'pass');
  // The record's start is read inside the flip's transition, the commit's time just after it (a
  // few ms apart on a loaded machine): blue went idle with that commit.
  t.ok(Math.abs(Date.parse(done.idle.since!) - (Date.parse(done.verification!.until) - 5000)) < 250, 'blue idle since the flip');
  const [verified] = await eventsOf(turnout.api);
  t.match(verified, { action: 'flip.verified', actor: 'verify', reason: /green verified; blue is free/ });
  await waitFor('webhooks', async () => (hook.seen.length >= 2 ? true : undefined));
  t.same(hook.seen.map((s) => JSON.parse(s.body).event.action), ['flip', 'flip.verified']);
  t.match(JSON.parse(hook.seen[1]!.body), { idle: { colour: 'blue', free: true } });
  t.ok(load.seen.green > 100, 'green served the traffic');
});

t.test('a manual weight change during the period cancels it; nothing is judged after', async (t) => {
  const { blue, green } = await demo(t);
  const turnout = await startApp(t, config(blue.url, green.url));
  traffic(t, turnout.proxy);
  await flip(turnout, { verify: { ...verify, seconds: 2 } });
  const res = await turnout.api('/api/v1/canary', { method: 'PUT', body: JSON.stringify({ weight: 10 }) });
  t.equal(res.status, 200);
  const s = (await res.json()) as StateJson;
  t.match(s.verification, { status: 'cancelled', reason: /^cancelled by a manual weight \(version 2, by admin\)$/ });
  await fetch(`${green.url}/fail?rate=1`, { method: 'POST' });
  const until = Date.parse(s.verification!.until);
  await waitFor('the period to pass', async () => (Date.now() > until + 1000 ? true : undefined));
  await turnout.app.verification.tick();
  t.same((await eventsOf(turnout.api)).map((e) => e.action), ['weight', 'flip'], 'the change\'s own event is the record');
  t.match(await stateOf(turnout.api), { active: 'green', canary: { weight: 10 }, verification: { status: 'cancelled' }, idle: { free: false } });
});

t.test('SIGKILL during the period, then a restart, resumes it', async (t) => {
  const { blue, green } = await demo(t);
  const file = path.join(t.testdir(), 'state.json');
  const child = spawn(node, [path.join(here, 'fixtures', 'verify-child.ts'), file, blue.url, green.url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  t.teardown(() => void child.kill('SIGKILL'));
  const urls = await new Promise<{ proxy: string; admin: string }>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line)));
    child.once('exit', () => reject(new Error(`child exited: ${stderr}`)));
  });
  const api = (p: string, init: RequestInit = {}) =>
    fetch(urls.admin + p, { ...init, headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' } });
  const load = traffic(t, urls.proxy);
  await waitFor('traffic', async () => (load.seen.total > 50 ? true : undefined));
  const res = await api('/api/v1/flip', { method: 'POST', body: JSON.stringify({ verify: { ...verify, seconds: 6 } }) });
  t.equal(res.status, 200, 'flipped with a period');
  await waitFor('a verdict in the child', async () => ((await stateOf(api)).verification!.verdicts.length >= 1 ? true : undefined));
  child.kill('SIGKILL');
  t.equal(await exited, 'SIGKILL');
  await load.stop();

  const turnout = await startApp(t, config(blue.url, green.url, { state: { store: 'file', path: file } }));
  const resumed = await stateOf(turnout.api);
  t.match(resumed, { active: 'green', idle: { colour: 'blue', free: false }, verification: { status: 'running', colour: 'green' } });
  t.equal(resumed.verification!.verdicts.length, 0, 'verdicts before the crash were not persisted; judging starts afresh');
  traffic(t, turnout.proxy);
  const done = await waitFor('the resumed period to end', async () => {
    const s = await stateOf(turnout.api);
    return s.verification?.status !== 'running' ? s : undefined;
  });
  t.match(done, { active: 'green', idle: { free: true }, verification: { status: 'verified', until: resumed.verification!.until } });
  t.match((await eventsOf(turnout.api))[0], { action: 'flip.verified' });
});
