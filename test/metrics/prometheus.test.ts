// The Prometheus registry: `promtool check metrics` accepts the real output, every name starts
// with turnout_, and the counters move after traffic (they are read from the aggregates at scrape time).
import t from 'tap';
import { toWeight } from '../../src/domain.ts';
import Fastify from 'fastify';
import type { Colour } from '../../src/domain.ts';
import { Telemetry } from '../../src/metrics/telemetry.ts';
import { createMetricsRegistry } from '../../src/metrics/prometheus.ts';
import { metricsRoutes } from '../../src/admin/routes-metrics.ts';
import { upstreamRoutes } from '../../src/admin/routes-upstreams.ts';
import { HealthChecker } from '../../src/upstream/health-check.ts';
import { ColourPool } from '../../src/upstream/pool.ts';
import { snapshotOf, type RoutingSnapshot } from '../../src/state/model.ts';
import { checkWithTool } from '../helpers/tools.ts';

/** `name{labels} value` lines → a map from `name{labels}` to value. */
function parse(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

function setup(t: { teardown(fn: () => unknown): void }) {
  let now = 1_700_000_000_000;
  const clock = { now: () => now, advance: (ms: number) => void (now += ms) };
  const make = (colour: Colour, urls: string[]) =>
    new ColourPool(colour, urls, {
      clock,
      outlier: { consecutiveFailures: 3, ejectMs: 10_000 },
      dispatcher: { connectMs: 1000, responseMs: 1000, connections: 1 },
    });
  const pools = { blue: make('blue', ['http://10.0.0.1:3000', 'http://10.0.0.2:3000']), green: make('green', ['http://10.0.1.1:3000']) };
  t.teardown(() => Promise.all([pools.blue.close(), pools.green.close()]));
  const telemetry = new Telemetry({ pools, windowSeconds: 60, clock });
  const health = new HealthChecker({ pools, config: { path: '/healthz', intervalMs: 2000, timeoutMs: 1000, unhealthyAfter: 2, healthyAfter: 2 }, clock });
  let snapshot: RoutingSnapshot = snapshotOf({ version: 1, active: 'blue', weight: toWeight(0) });
  const registry = createMetricsRegistry({ telemetry, pools, getSnapshot: () => snapshot, health, clock });
  return { clock, pools, telemetry, registry, setSnapshot: (s: RoutingSnapshot) => void (snapshot = s) };
}

t.test('promtool accepts the output, before and after traffic; counters move', async (t) => {
  const { clock, pools, telemetry, registry, setSnapshot } = setup(t);
  const before = await registry.metrics();
  await checkWithTool(t, 'promtool accepts an idle registry', 'promtool', ['check', 'metrics'], before);

  for (const line of before.split('\n')) {
    const name = /^(?:# (?:HELP|TYPE) )?([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line)?.[1];
    if (line !== '' && name !== undefined && !name.startsWith('turnout_')) t.fail(`metric without the turnout_ prefix: ${line}`);
  }
  t.match(before, /turnout_process_cpu_user_seconds_total/, 'process metrics, prefixed');

  const b0 = pools.blue.targets[0]!;
  const b1 = pools.blue.targets[1]!;
  const g0 = pools.green.targets[0]!;
  for (let i = 0; i < 10; i++) {
    telemetry.begin(b0);
    telemetry.end('blue', b0, 200, 3, 'ok');
  }
  telemetry.begin(b1);
  telemetry.end('blue', b1, 502, 1, 'refused');
  telemetry.begin(g0);
  telemetry.end('green', g0, 500, 700, 'status5xx');
  telemetry.begin(g0);
  telemetry.end('green', g0, 404, 2, 'ok');
  telemetry.begin(g0);
  telemetry.end('green', g0, 0, 5000, 'client_abort');
  telemetry.end('green', null, 503, 0, 'no_healthy_target');
  telemetry.begin(g0); // in flight at scrape time
  for (let i = 0; i < 3; i++) pools.blue.reportOutcome(b1, 'refused'); // ejected
  setSnapshot(snapshotOf({ version: 7, active: 'green', weight: toWeight(12.5) }));

  const after = await registry.metrics();
  await checkWithTool(t, 'promtool accepts the registry after traffic', 'promtool', ['check', 'metrics'], after);
  const v = parse(after);
  const rows: [string, number][] = [
    ['turnout_requests_total{colour="blue",target="http://10.0.0.1:3000",status_class="2xx"}', 10],
    ['turnout_requests_total{colour="blue",target="http://10.0.0.2:3000",status_class="5xx"}', 1],
    ['turnout_requests_total{colour="green",target="http://10.0.1.1:3000",status_class="5xx"}', 1],
    ['turnout_requests_total{colour="green",target="http://10.0.1.1:3000",status_class="4xx"}', 1],
    ['turnout_requests_total{colour="green",target="http://10.0.1.1:3000",status_class="none"}', 1],
    ['turnout_requests_total{colour="green",target="none",status_class="5xx"}', 1],
    ['turnout_upstream_errors_total{colour="blue",target="http://10.0.0.2:3000",kind="refused"}', 1],
    ['turnout_upstream_errors_total{colour="blue",target="http://10.0.0.1:3000",kind="refused"}', 0],
    ['turnout_upstream_errors_total{colour="green",target="http://10.0.1.1:3000",kind="status5xx"}', 1],
    ['turnout_upstream_errors_total{colour="green",target="none",kind="no_healthy_target"}', 1],
    ['turnout_request_duration_seconds_count{colour="blue"}', 11],
    ['turnout_request_duration_seconds_bucket{le="0.0025",colour="blue"}', 1],
    ['turnout_request_duration_seconds_bucket{le="0.005",colour="blue"}', 11],
    ['turnout_request_duration_seconds_count{colour="green"}', 3],
    ['turnout_request_duration_seconds_bucket{le="0.5",colour="green"}', 1],
    ['turnout_request_duration_seconds_bucket{le="1",colour="green"}', 2],
    ['turnout_request_duration_seconds_bucket{le="+Inf",colour="green"}', 3],
    ['turnout_in_flight_requests{colour="green",target="http://10.0.1.1:3000"}', 1],
    ['turnout_canary_weight_percent', 12.5],
    ['turnout_active_colour{colour="green"}', 1],
    ['turnout_active_colour{colour="blue"}', 0],
    ['turnout_state_version', 7],
    ['turnout_target_healthy{colour="blue",target="http://10.0.0.2:3000"}', 0],
    ['turnout_target_ejected{colour="blue",target="http://10.0.0.2:3000"}', 1],
    ['turnout_target_healthy{colour="blue",target="http://10.0.0.1:3000"}', 1],
    ['turnout_colour_healthy{colour="blue"}', 1],
  ];
  for (const [series, want] of rows) t.equal(v.get(series), want, series);
  t.ok(Math.abs(v.get('turnout_request_duration_seconds_sum{colour="blue"}')! - 0.031) < 1e-9, 'sum in seconds');

  clock.advance(10_000);
  const later = parse(await registry.metrics());
  t.equal(later.get('turnout_target_ejected{colour="blue",target="http://10.0.0.2:3000"}'), 0, 'ejection over');
  t.equal(later.get('turnout_requests_total{colour="blue",target="http://10.0.0.1:3000",status_class="2xx"}'), 10, 'counters never reset');
});

t.test('GET /metrics and GET /api/v1/upstreams as fastify plugins', async (t) => {
  const { pools, telemetry, registry } = setup(t);
  const app = Fastify();
  await app.register(metricsRoutes, { deps: { metricsRegistry: registry } });
  await app.register(upstreamRoutes, { deps: { telemetry } });
  t.teardown(() => app.close());
  telemetry.begin(pools.green.targets[0]!);
  telemetry.end('green', pools.green.targets[0]!, 200, 4, 'ok');

  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(metrics.statusCode, 200);
  t.match(metrics.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  t.match(metrics.body, /turnout_requests_total\{colour="green",target="http:\/\/10\.0\.1\.1:3000",status_class="2xx"\} 1/);

  const ups = await app.inject({ method: 'GET', url: '/api/v1/upstreams' });
  t.equal(ups.statusCode, 200);
  const body = ups.json();
  t.equal(body.windowSeconds, 60);
  t.equal(body.colours.green.requests, 1);
  t.same(body.colours.green.targets[0].latencyMs, { p50: 4, p90: 4, p99: 4 });
  t.same(body.colours.blue.latencyMs, { p50: null, p90: null, p99: null });

  const bare = Fastify();
  await bare.register(metricsRoutes, { deps: {} });
  await bare.register(upstreamRoutes, { deps: {} });
  t.teardown(() => bare.close());
  t.equal((await bare.inject({ method: 'GET', url: '/metrics' })).statusCode, 404, 'no registry, no route');
});
