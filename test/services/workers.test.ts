// CONTRACT §10 with CONTRACT §7: `turnout serve` with workers: 2 and two services. Each worker
// routes every service by that service's own snapshot; each service's telemetry comes back up
// keyed by service and is counted exactly once, in that service's windows.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from 'undici';
import { adminJson, metricsText, serveWorkers } from '../workers/harness.ts';
import { waitFor } from '../helpers/wait.ts';
import { get, pair, served } from './helpers.ts';

t.test('workers: 2, two services: each routed by its own state, each counted once', async (t) => {
  const shop = await pair(t, 'shop');
  const api = await pair(t, 'api');
  const dir = t.testdir();
  const turnout = await serveWorkers(t, [
    'workers: 2',
    'healthCheck: { intervalMs: 60000 }',
    `state: { store: file, path: "${join(dir, 'state.json')}" }`,
    'services:',
    `  shop: { match: { hosts: [shop.test] }, upstreams: { blue: { targets: ["${shop.blue.url}"] }, green: { targets: ["${shop.green.url}"] } } }`,
    `  api: { match: { hosts: [api.test], pathPrefix: /v2 }, upstreams: { blue: { targets: ["${api.blue.url}"] }, green: { targets: ["${api.green.url}"] } } }`,
  ]);
  t.equal(turnout.workers().length, 2, 'two workers');
  // The unprefixed routes act on the first service (the admin's per-service routes come with svc-api).
  const flip = await adminJson<{ active: string }>(turnout, 'POST', '/api/v1/flip');
  t.equal(flip.status, 200);
  t.equal(flip.body.active, 'green', 'shop flipped');

  const agent = new Agent({ connections: 16 });
  t.teardown(() => agent.close());
  const total = 800;
  let next = 0;
  const wrong: string[] = [];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < total) {
        const n = next++;
        const [host, path, want] = n % 2 === 0 ? ['shop.test', `/s${n}`, 'shop-green'] : ['api.test', `/v2/a${n}`, 'api-blue'];
        const a = await get(turnout.proxy, host, path, agent);
        if (a.status !== 200 || a.name !== want) wrong.push(`${host}${path}: ${a.status} ${a.name}`);
      }
    }),
  );
  t.same(wrong, [], 'every request landed on its service and that service\'s colour, in every worker');
  t.equal(served(shop.green).length, total / 2);
  t.equal(served(api.blue).length, total / 2);
  t.equal(served(shop.blue).length + served(api.green).length, 0);

  const series = (text: string, service: string, colour: string, url: string) =>
    Number(new RegExp(`^turnout_requests_total\\{service="${service}",colour="${colour}",target="${url}",status_class="2xx"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  await waitFor(async () => {
    const m = await metricsText(turnout);
    return series(m, 'shop', 'green', shop.green.url) >= total / 2 && series(m, 'api', 'blue', api.blue.url) >= total / 2;
  }, 'the per-second deltas of both services', 10_000, 100);
  // One more delta period: a request counted twice would show now.
  await new Promise((r) => setTimeout(r, 1200));
  const m = await metricsText(turnout);
  t.equal(series(m, 'shop', 'green', shop.green.url), total / 2, 'shop counted once, in shop');
  t.equal(series(m, 'api', 'blue', api.blue.url), total / 2, 'api counted once, in api');
  t.equal(series(m, 'shop', 'blue', shop.blue.url) + series(m, 'api', 'green', api.green.url), 0);

  // State files: the non-default services sit beside state.path, one file each.
  const shopFile = JSON.parse(readFileSync(join(dir, 'state.shop.json'), 'utf8')) as { state: { version: number; active: string }; events: { service: string; action: string }[] };
  t.match(shopFile.state, { version: 1, active: 'green' });
  t.same(shopFile.events.map((e) => [e.service, e.action]), [['shop', 'flip']]);
  const apiFile = JSON.parse(readFileSync(join(dir, 'state.api.json'), 'utf8')) as { state: { version: number; active: string } };
  t.match(apiFile.state, { version: 0, active: 'blue' });
});
