// Progressive rollouts end to end (issue 5), the canaries that must be stopped: errors, latency,
// and no traffic at all (the step holds). Whole app, real upstreams, paced traffic; see e2e-helpers.ts.
import t from 'tap';
import { signature } from '../../src/notify/webhooks.ts';
import { startApp } from '../helpers/app.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { analysis, behave, config, start, traffic, until, upstreams, waitFor } from './e2e-helpers.ts';

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
  // The p99 comes from histogram buckets: about 300 ms, not exactly.
  const m = /p99Ratio: canary ([\d.]+)ms vs stable ([\d.]+)ms/.exec(done.reason);
  t.ok(m && Number(m[1]) > 250 && Number(m[2]) < 100, done.reason);
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
