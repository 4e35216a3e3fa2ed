// Progressive rollouts end to end (issue 5): the whole app (buildApp) with real upstreams, paced
// background traffic through the proxy, the controller on its own timer. Conditions are polled
// with bounded deadlines; nothing asserts on timing.
import t from 'tap';
import { Agent, request } from 'undici';
import { signature } from '../../src/rollout/webhooks.ts';
import { createMemoryStorage, MemoryStore } from '../../src/state/memory-store.ts';
import { startApp, type RunningApp } from '../helpers/app.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

// A generous latency tolerance: this machine is shared, and a p99 of a few dozen requests is their
// maximum, so one scheduling hiccup would otherwise look like a regression. 300 ms still is one.
const analysis = { intervalSeconds: 1, minRequests: 15, maxErrorRate: 0.02, maxP99Ms: 800, maxP99Ratio: 1.5, p99ToleranceMs: 150 };

/** A few paced clients (random sticky ids, so every request is a fresh draw) until stopped. */
function traffic(t: { teardown(fn: () => unknown): void }, proxy: string, clients = 4, pauseMs = 10) {
  const agent = new Agent({ connections: clients });
  const seen = { blue: 0, green: 0, status5xx: 0, total: 0 };
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      try {
        const res = await request(proxy + '/work', { dispatcher: agent });
        const colour = res.headers['x-turnout-colour'];
        if (colour === 'blue' || colour === 'green') seen[colour]++;
        if (res.statusCode >= 500) seen.status5xx++;
        seen.total++;
        await res.body.dump();
      } catch {
        // a connection error is the proxy's business; keep the load going
      }
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  };
  const running = Array.from({ length: clients }, loop);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      stopped = true;
      await Promise.all(running);
      await agent.close();
    })());
  t.teardown(stop);
  return { seen, stop };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, deadlineMs = 15_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface RolloutJson {
  status: string;
  step: number;
  weight: number;
  reason: string;
  analysis: { result: string; reasons: string[]; canary: { requests: number } }[];
}

const current = async (turnout: RunningApp) => (await (await turnout.api('/api/v1/rollouts/current')).json()) as RolloutJson;
const until = (turnout: RunningApp, pred: (r: RolloutJson) => boolean) => async () => {
  const r = await current(turnout);
  return pred(r) ? r : undefined;
};

async function upstreams(t: Tap) {
  const blue = await startUpstream(t, 'blue', { keepBody: false });
  const green = await startUpstream(t, 'green', { keepBody: false });
  return { blue, green };
}
type Tap = { teardown(fn: () => unknown): void };

/** Makes `u` answer /healthz with 200 and everything else through `answer`. */
function behave(u: Upstream, answer: (res: import('node:http').ServerResponse) => void) {
  u.handle((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
      return;
    }
    answer(res);
  });
}

function config(blue: Upstream, green: Upstream) {
  return {
    upstreams: { blue: { targets: [blue.url] }, green: { targets: [green.url] } },
    outlier: { consecutiveFailures: 1000, ejectMs: 10_000 },
  };
}

async function start(turnout: RunningApp, body: unknown) {
  const res = await turnout.api('/api/v1/rollouts', { method: 'POST', body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`start: ${res.status} ${await res.text()}`);
  return (await res.json()) as RolloutJson;
}

t.test('a healthy green is walked through every step and promoted', async (t) => {
  const { blue, green } = await upstreams(t);
  const turnout = await startApp(t, config(blue, green));
  const load = traffic(t, turnout.proxy);
  await start(turnout, { steps: [{ weight: 20, holdSeconds: 1 }, { weight: 50, holdSeconds: 1 }, { weight: 100, holdSeconds: 0 }], analysis });

  const done = await waitFor('promotion', until(turnout, (r) => r.status !== 'running'));
  t.equal(done.status, 'promoted', done.reason);
  t.ok(done.analysis.length >= 3 && done.analysis.every((v) => v.result !== 'fail'));
  const state = (await (await turnout.api('/api/v1/state')).json()) as { active: string; canary: { weight: number }; rollout: { status: string } };
  t.match(state, { active: 'green', canary: { weight: 0 }, rollout: { status: 'promoted' } });
  const events = (await (await turnout.api('/api/v1/events?limit=10')).json()) as { action: string }[];
  t.same(events.map((e) => e.action).reverse(), ['rollout.start', 'rollout.step', 'rollout.step', 'rollout.promote']);

  // After the promotion every new request lands on green.
  const greenBefore = green.seen.length;
  const blueBefore = blue.seen.length;
  await waitFor('green traffic', async () => (green.seen.length > greenBefore + 20 ? true : undefined));
  t.ok(blue.seen.length - blueBefore <= 4, 'blue gets at most the requests in flight at the flip');
  await load.stop();
  t.equal(load.seen.status5xx, 0);
});

t.test('a green answering 500 to 30% of requests is aborted within two intervals', async (t) => {
  const { blue, green } = await upstreams(t);
  behave(green, (res) => {
    res.writeHead(Math.random() < 0.3 ? 500 : 200, { 'content-type': 'application/json' });
    res.end('{"name":"green"}');
  });
  const hook = await startUpstream(t, 'webhook');
  const turnout = await startApp(t, { ...config(blue, green), notify: { webhooks: [hook.url + '/turnout'], secret: 'webhook-secret' } });
  const load = traffic(t, turnout.proxy);
  await waitFor('traffic', async () => (load.seen.total > 50 ? true : undefined));
  await start(turnout, { steps: [{ weight: 30, holdSeconds: 60 }, { weight: 100, holdSeconds: 60 }], analysis });

  const done = await waitFor('abort', until(turnout, (r) => r.status !== 'running'));
  t.equal(done.status, 'aborted');
  t.match(done.reason, /^errorRate: canary/);
  const verdicts = done.analysis.map((v) => v.result);
  t.ok(verdicts.length <= 2, `aborted at analysis ${verdicts.length}: ${verdicts.join(',')}`);
  t.equal(verdicts.at(-1), 'fail');
  const state = (await (await turnout.api('/api/v1/state')).json()) as { active: string; canary: { weight: number } };
  t.match(state, { active: 'blue', canary: { weight: 0 } });
  const events = (await (await turnout.api('/api/v1/events?limit=1')).json()) as { action: string; reason: string; actor: string }[];
  t.match(events[0], { action: 'rollout.abort', actor: 'rollout', reason: /errorRate/ });

  // The configured webhook got the start and the abort, signed.
  await waitFor('webhooks', async () => (hook.seen.length >= 2 ? true : undefined));
  t.same(hook.seen.map((s) => JSON.parse(s.body).event.action), ['rollout.start', 'rollout.abort']);
  t.ok(hook.seen.every((s) => s.headers['x-turnout-signature'] === signature('webhook-secret', s.body)));

  // What green saw: nothing new once the abort was committed.
  const greenAfter = green.seen.length;
  const total = load.seen.total;
  await waitFor('more traffic', async () => (load.seen.total > total + 100 ? true : undefined));
  t.ok(green.seen.length - greenAfter <= 4, 'green gets at most the requests in flight at the abort');
  t.ok(greenAfter > 0, 'green did see canary traffic');
});

t.test('a green 300 ms slower is aborted on latency', async (t) => {
  const { blue, green } = await upstreams(t);
  behave(green, (res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"name":"green"}');
    }, 300);
  });
  const turnout = await startApp(t, config(blue, green));
  traffic(t, turnout.proxy, 8);
  await start(turnout, { steps: [{ weight: 30, holdSeconds: 60 }], analysis });
  const done = await waitFor('abort', until(turnout, (r) => r.status !== 'running'));
  t.equal(done.status, 'aborted');
  t.match(done.reason, /p99Ratio: canary 3\d\d(\.\d+)?ms vs stable/);
  t.notMatch(done.reason, /errorRate/);
  t.equal(turnout.app.state.state.weight, 0);
});

t.test('without traffic the step holds: inconclusive verdicts, no abort, no advance', async (t) => {
  const { blue, green } = await upstreams(t);
  const turnout = await startApp(t, config(blue, green));
  await start(turnout, { steps: [{ weight: 10, holdSeconds: 0 }, { weight: 100, holdSeconds: 0 }], analysis });
  const held = await waitFor('two analyses', until(turnout, (r) => r.analysis.length >= 2));
  t.match(held, { status: 'running', step: 0, weight: 10 });
  t.ok(held.analysis.every((v) => v.result === 'inconclusive'));
  t.match(held.analysis[0]!.reasons[0], /^requests: canary 0 < minRequests 15/);
  t.equal(green.seen.filter((s) => s.url !== '/healthz').length, 0);
});

t.test('a restart mid-rollout resumes it in the same status, at the same step, with the same routing', async (t) => {
  const { blue, green } = await upstreams(t);
  const storage = createMemoryStorage();
  const first = await startApp(t, config(blue, green), { store: new MemoryStore({ storage }) });
  const load1 = traffic(t, first.proxy);
  await start(first, { steps: [{ weight: 10, holdSeconds: 0 }, { weight: 40, holdSeconds: 3600 }, { weight: 100, holdSeconds: 0 }], analysis });
  const moved = await waitFor('step 2', until(first, (r) => r.step === 1 || r.status !== 'running'));
  t.match(moved, { status: 'running', step: 1 }, moved.reason);
  await load1.stop();
  await first.app.close();

  const second = await startApp(t, config(blue, green), { store: new MemoryStore({ storage }) });
  const resumed = await current(second);
  t.match(resumed, { status: 'running', step: 1, weight: 40 });
  t.equal(second.app.state.snapshot.weight, 40);
  const greenBefore = green.seen.length;
  const load2 = traffic(t, second.proxy);
  await waitFor('fresh analyses after the restart', until(second, (r) => r.analysis.filter((v) => v.result === 'pass').length >= 2));
  t.match(await current(second), { status: 'running', step: 1 }, 'the 3600 s hold still holds');
  t.ok(green.seen.length > greenBefore, 'the canary gets traffic again after the restart');

  const paused = await second.api('/api/v1/rollouts/current/pause', { method: 'POST' });
  t.equal(paused.status, 200);
  await load2.stop();
  await second.app.close();
  const third = await startApp(t, config(blue, green), { store: new MemoryStore({ storage }) });
  t.match(await current(third), { status: 'paused', step: 1, weight: 40 });
});
