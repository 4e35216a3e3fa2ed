// Start cautious (issue 12 item 8): after a (re)start no target receives traffic before its first
// health probe passed, and /readyz answers 503 until then (Envoy's ignore_new_hosts_until_first_hc).
import t from 'tap';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '../../src/config/load.ts';
import { buildApp } from '../../src/app.ts';
import { startApp, TEST_TOKEN } from '../helpers/app.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';

const urlOf = (server: http.Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

t.test('no traffic and /readyz 503 until the first probe passes; listen() resolves after it', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const pendingProbes: http.ServerResponse[] = [];
  let probesPass = false;
  blue.handle((req, res) => {
    if (req.url === '/healthz' && !probesPass) return void pendingProbes.push(res);
    res.end(req.url === '/healthz' ? 'ok' : 'hello from blue');
  });
  const config = parseConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0, token: TEST_TOKEN },
      state: { store: 'memory' },
      upstreams: { blue: { targets: [blue.url] }, green: { targets: [blue.url] } },
      // The held probe must not time out while the test looks (a loaded machine is slow).
      healthCheck: { intervalMs: 30_000, timeoutMs: 30_000 },
    },
    'test',
  );
  const app = await buildApp(config, { logger: false });
  t.teardown(() => app.close());
  let listened = false;
  const listening = app.listen().then((urls) => ((listened = true), urls));
  await waitFor(() => pendingProbes.length >= 1, 'the first probe to reach the target');

  const admin = urlOf(app.admin.server);
  const proxy = urlOf(app.proxy as import("node:http").Server);
  t.equal(listened, false, 'listen() waits for the first round of probes');
  t.equal((await fetch(`${admin}/readyz`)).status, 503, '/readyz 503 before the first probe');
  const early = await fetch(`${proxy}/x`);
  t.equal(early.status, 503, 'a request before the first probe gets 503');
  t.match(await early.json(), { colour: 'blue' });
  t.same(blue.seen.filter((s) => s.url !== '/healthz'), [], 'and never reaches the unprobed target');

  probesPass = true;
  for (const res of pendingProbes.splice(0)) res.end('ok');
  const urls = await listening;
  t.equal(urls.proxy, proxy);
  t.equal((await fetch(`${admin}/readyz`)).status, 200, '/readyz 200 once the probe passed');
  const res = await fetch(`${proxy}/x`);
  t.equal(res.status, 200);
  t.equal(await res.text(), 'hello from blue');
  t.equal(app.pools.blue.targets[0]!.available, true, 'one passing probe is enough at start (healthyAfter is 2)');
});

t.test('a target whose first probe fails stays out until healthyAfter probes pass', async (t) => {
  const blue = await startUpstream(t, 'blue');
  let healthy = false;
  blue.handle((req, res) => {
    if (req.url === '/healthz') res.writeHead(healthy ? 200 : 503);
    res.end('blue');
  });
  const run = await startApp(t, {
    upstreams: { blue: { targets: [blue.url] }, green: { targets: [blue.url] } },
    healthCheck: { intervalMs: 200, timeoutMs: 100 },
  });
  const target = run.app.pools.blue.targets[0]!;
  t.equal(target.available, false, 'out after a failed first probe');
  t.equal((await fetch(`${run.admin}/readyz`)).status, 503);
  t.equal((await fetch(`${run.proxy}/x`)).status, 503);
  t.same(blue.seen.filter((s) => s.url !== '/healthz'), []);
  healthy = true;
  await waitFor(() => target.available, 'the target to pass healthyAfter probes');
  t.ok(run.app.health.statsOf(target)!.consecutiveSuccesses >= 2, 'after two passes in a row, not one');
  t.equal((await fetch(`${run.admin}/readyz`)).status, 200);
  t.equal((await fetch(`${run.proxy}/x`)).status, 200);
});

t.test('without health checks (background: false) targets are trusted from the start', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const run = await startApp(t, { upstreams: { blue: { targets: [blue.url] }, green: { targets: [blue.url] } } }, { background: false });
  t.equal((await fetch(`${run.proxy}/x`)).status, 200);
  t.same(blue.seen.map((s) => s.url), ['/x']);
});
