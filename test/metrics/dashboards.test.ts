// config/prometheus.yml and config/grafana-dashboard.json stay valid and in step with the metrics:
// promtool checks the scrape config and every dashboard query (as recording rules), and every
// metric a query names exists in a real registry's output.
import t from 'tap';
import { toWeight } from '../../src/domain.ts';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Telemetry } from '../../src/metrics/telemetry.ts';
import { createMetricsRegistry } from '../../src/metrics/prometheus.ts';
import { HealthChecker } from '../../src/upstream/health-check.ts';
import { ColourPool } from '../../src/upstream/pool.ts';
import { snapshotOf } from '../../src/state/model.ts';
import { checkWithTool } from '../helpers/tools.ts';

const root = new URL('../../', import.meta.url);

t.test('config/prometheus.yml scrapes the demo admin listener', async (t) => {
  const file = new URL('config/prometheus.yml', root).pathname;
  await checkWithTool(t, 'promtool check config', 'promtool', ['check', 'config', file]);
  const text = readFileSync(file, 'utf8');
  t.match(text, /metrics_path: \/metrics/);
  t.match(text, /"127\.0\.0\.1:9901"/);
});

t.test('config/grafana-dashboard.json: valid queries over metrics that exist', async (t) => {
  const dashboard = JSON.parse(readFileSync(new URL('config/grafana-dashboard.json', root), 'utf8')) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };
  const titles = dashboard.panels.map((p) => p.title.toLowerCase());
  for (const want of ['request rate', 'error ratio', 'p99']) t.ok(titles.some((x) => x.includes(want)), `a panel for ${want}`);
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((x) => x.expr));
  t.ok(exprs.length >= 8);

  // Grafana's variables replaced by what it would send, then every query checked as a rule.
  const concrete = exprs.map((e) => e.replaceAll('$__rate_interval', '1m').replaceAll('$job', '.*').replaceAll('$instance', '.*'));
  const rules = ['groups:', '  - name: dashboard', '    rules:'];
  concrete.forEach((expr, i) => rules.push(`      - record: turnout:dashboard_query_${i}`, `        expr: ${JSON.stringify(expr)}`));
  const dir = mkdtempSync(join(tmpdir(), 'turnout-dash-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'rules.yml'), rules.join('\n') + '\n');
  await checkWithTool(t, 'every query parses (promtool check rules)', 'promtool', ['check', 'rules', join(dir, 'rules.yml')]);

  const clock = { now: () => 0 };
  const make = (colour: 'blue' | 'green') =>
    new ColourPool(colour, ['http://10.0.0.1:3000'], { clock, outlier: { consecutiveFailures: 3, ejectMs: 1000 }, dispatcher: { connectMs: 1, responseMs: 1, connections: 1 } });
  const pools = { blue: make('blue'), green: make('green') };
  t.teardown(() => Promise.all([pools.blue.close(), pools.green.close()]));
  const telemetry = new Telemetry({ pools, windowSeconds: 60, clock });
  const health = new HealthChecker({ pools, config: { path: '/healthz', intervalMs: 2000, timeoutMs: 1000, unhealthyAfter: 2, healthyAfter: 2 } });
  const output = await createMetricsRegistry({ telemetry, pools, getSnapshot: () => snapshotOf({ version: 1, active: 'blue', weight: toWeight(0) }), health, processMetrics: false }).metrics();
  const names = new Set(exprs.flatMap((e) => e.match(/turnout_[a-z_]+/g) ?? []));
  for (const name of names) {
    const family = name.replace(/_(bucket|sum|count)$/, '');
    t.match(output, `# TYPE ${family} `, `${name} is exported`);
  }
});
