// Webhook delivery counters reach /metrics (issue 5: failures are logged and counted).
import t from 'tap';
import { checkWithTool } from '../helpers/tools.ts';
import { toWeight } from '../../src/domain.ts';
import { ColourPool } from '../../src/upstream/pool.ts';
import { Telemetry } from '../../src/metrics/telemetry.ts';
import { createMetricsRegistry } from '../../src/metrics/prometheus.ts';
import { snapshotOf } from '../../src/state/model.ts';

t.test('webhook counters are exported and pass promtool', async (t) => {
  const clock = { now: () => 1_000_000 };
  const opts = { clock, outlier: { consecutiveFailures: 3, ejectMs: 1000 }, dispatcher: { connectMs: 100, responseMs: 100, connections: 1 } };
  const pools = { blue: new ColourPool('blue', ['http://127.0.0.1:1'], opts), green: new ColourPool('green', ['http://127.0.0.1:2'], opts) };
  t.teardown(() => Promise.all([pools.blue.close(), pools.green.close()]));
  const stats = { delivered: 7, failures: 3, failedAttempts: 11, dropped: 1 };
  const registry = createMetricsRegistry({
    telemetry: new Telemetry({ pools, windowSeconds: 60, clock }),
    pools,
    getSnapshot: () => snapshotOf({ version: 1, active: 'blue', weight: toWeight(0) }),
    rollouts: { webhookStats: () => stats },
    processMetrics: false,
  });
  const text = await registry.metrics();
  t.match(text, /turnout_webhook_deliveries_total\{result="delivered"\} 7/);
  t.match(text, /turnout_webhook_deliveries_total\{result="failed"\} 2/);
  t.match(text, /turnout_webhook_deliveries_total\{result="dropped"\} 1/);
  t.match(text, /turnout_webhook_failures_total 11/);
  stats.failedAttempts = 12;
  t.match(await registry.metrics(), /turnout_webhook_failures_total 12/, 'read at scrape time');
  await checkWithTool(t, 'promtool accepts the output', 'promtool', ['check', 'metrics'], text);
});
