// The whole app: traffic through the proxy moves GET /api/v1/upstreams (behind the token) and
// GET /metrics (public, promtool-clean); a dead target stops receiving traffic and shows as
// unhealthy, through passive ejection with traffic and through active checks without.
import t from 'tap';
import { checkWithTool } from '../helpers/tools.ts';
import { startApp } from '../helpers/app.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';

t.test('traffic shows in /api/v1/upstreams and /metrics', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  green.handle((req, res) => {
    if (req.url === '/healthz') return void res.end('ok');
    res.writeHead(req.url === '/missing' ? 404 : 500);
    res.end();
  });
  const run = await startApp(t, { upstreams: { blue: { targets: [blue.url] }, green: { targets: [green.url] } }, outlier: { consecutiveFailures: 1000 } }, { background: false });

  for (let i = 0; i < 5; i++) t.equal((await fetch(`${run.proxy}/x`)).status, 200);
  for (let i = 0; i < 3; i++) t.equal((await fetch(`${run.proxy}/x`, { headers: { 'x-turnout-colour': 'green' } })).status, 500);
  t.equal((await fetch(`${run.proxy}/missing`, { headers: { 'x-turnout-colour': 'green' } })).status, 404);
  t.equal(blue.seen.length, 5);
  t.equal(green.seen.length, 4);

  t.equal((await fetch(`${run.admin}/api/v1/upstreams`)).status, 401, 'the API needs the token');
  const res = await run.api('/api/v1/upstreams');
  t.equal(res.status, 200);
  const body = (await res.json()) as any;
  t.equal(body.windowSeconds, 60);
  t.match(body.colours.blue, { healthy: true, requests: 5, errors: 0, errorRate: 0, inFlight: 0 });
  t.match(body.colours.green, { healthy: true, requests: 4, errors: 3, errorRate: 0.75, inFlight: 0 });
  t.equal(typeof body.colours.blue.latencyMs.p99, 'number');
  t.same(body.colours.green.targets.map((x: any) => [x.url, x.requests, x.errors]), [[green.url, 4, 3]]);

  const metrics = await fetch(`${run.admin}/metrics`);
  t.equal(metrics.status, 200, '/metrics needs no token');
  const text = await metrics.text();
  await checkWithTool(t, 'promtool accepts /metrics', 'promtool', ['check', 'metrics'], text);
  t.match(text, `turnout_requests_total{colour="blue",target="${blue.url}",status_class="2xx"} 5`);
  t.match(text, `turnout_requests_total{colour="green",target="${green.url}",status_class="5xx"} 3`);
  t.match(text, `turnout_requests_total{colour="green",target="${green.url}",status_class="4xx"} 1`);
  t.match(text, `turnout_upstream_errors_total{colour="green",target="${green.url}",kind="status5xx"} 3`);
  t.match(text, 'turnout_request_duration_seconds_count{colour="blue"} 5');
  t.match(text, 'turnout_active_colour{colour="blue"} 1');
});

t.test('a dead target stops receiving traffic: passive ejection under traffic', async (t) => {
  const alive = await startUpstream(t, 'alive');
  const dead = await startUpstream(t, 'dead');
  const run = await startApp(t, { upstreams: { blue: { targets: [dead.url, alive.url] }, green: { targets: [alive.url] } } }, { background: false });
  await dead.close();
  // GETs are retried on the other target, so clients see 200 while the dead one is found out.
  for (let i = 0; i < 10; i++) t.equal((await fetch(`${run.proxy}/x`)).status, 200, `request ${i}`);
  const seenBefore = alive.seen.length;
  for (let i = 0; i < 10; i++) await fetch(`${run.proxy}/y`);
  t.equal(alive.seen.length - seenBefore, 10, 'after ejection every request goes straight to the live target');
  const body = (await (await run.api('/api/v1/upstreams')).json()) as any;
  t.same(body.colours.blue.targets.map((x: any) => x.healthy), [false, true]);
  t.equal(body.colours.blue.healthy, true);
  t.ok(body.colours.blue.targets[0].errors >= 3, 'the failed attempts count against the dead target');
  // What clients saw apart from upstream attempts (Envoy's downstream_rq_* / upstream_rq_*).
  const failedAttempts = body.colours.blue.targets[0].errors;
  t.match(body.colours.blue, { requests: 20, errors: 0, errorRate: 0, retries: failedAttempts }, 'no client saw an error');
  t.equal(body.colours.blue.targets[0].requests + body.colours.blue.targets[1].requests, 20 + failedAttempts, 'attempts = responses + retries');
  const text = await (await fetch(`${run.admin}/metrics`)).text();
  t.match(text, `turnout_upstream_retries_total{colour="blue",target="${dead.url}",kind="refused"} ${failedAttempts}`);
  t.match(text, `turnout_upstream_errors_total{colour="blue",target="${dead.url}",kind="refused"} 0`);
  t.match(text, `turnout_requests_total{colour="blue",target="${alive.url}",status_class="2xx"} 20`);
});

t.test('a dead target is marked unhealthy by active checks within about 3 s without traffic (defaults)', async (t) => {
  const alive = await startUpstream(t, 'alive');
  const dead = await startUpstream(t, 'dead');
  const run = await startApp(t, { upstreams: { blue: { targets: [dead.url, alive.url] }, green: { targets: [alive.url] } } });
  const target = run.app.pools.blue.targets[0]!;
  await waitFor(() => run.app.health.statsOf(target)!.successes > 0, 'the first probe', 2000);
  await dead.close();
  const elapsed = await waitFor(() => !target.available, 'the dead target to become unhealthy', 6000);
  t.comment(`unhealthy ${elapsed} ms after it died`);
  const text = await (await fetch(`${run.admin}/metrics`)).text();
  t.match(text, `turnout_health_check_transitions_total{colour="blue",target="${dead.url}",to="unhealthy"} 1`);
  t.match(text, `turnout_target_healthy{colour="blue",target="${dead.url}"} 0`);
});
