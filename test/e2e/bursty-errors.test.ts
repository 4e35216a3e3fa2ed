// Passive ejection never takes a colour down (issue 12 item 1, CONTRACT §3): a colour whose only
// target answers 500 in bursts keeps serving its 95 % of good answers instead of turning into a
// 503 for everyone, and its error rate stays visible. Default outlier settings, health checks on.
import t from 'tap';
import { startApp } from '../helpers/app.ts';
import { startUpstream } from '../helpers/upstream.ts';

async function load(url: string, n: number, concurrency: number): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next++ < n) {
      const res = await fetch(`${url}/work`);
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return statuses;
}

t.test('a single target failing 5 % of requests in bursts: about 95 % 2xx, never ejected', async (t) => {
  const blue = await startUpstream(t, 'blue');
  let served = 0;
  blue.handle((req, res) => {
    if (req.url === '/healthz') return void res.end('ok');
    // 5 failures in a row out of every 100 requests: far past outlier.consecutiveFailures (3).
    const fail = served++ % 100 >= 95;
    res.writeHead(fail ? 500 : 200, { 'content-type': 'text/plain' });
    res.end(fail ? 'boom' : 'ok');
  });
  const green = await startUpstream(t, 'green');
  const run = await startApp(t, { upstreams: { blue: { targets: [blue.url] }, green: { targets: [green.url] } } });
  const N = 1000;
  const statuses = await load(run.proxy, N, 8);
  t.same([...statuses.keys()].sort(), [200, 500], `only the upstream's own answers: ${JSON.stringify([...statuses])}`);
  t.equal(statuses.get(200), 950, '95 % 2xx');
  t.equal(statuses.get(500), 50, 'and the 5 % the target failed, passed through');
  t.equal(served, N, 'every request reached the target');
  t.equal(run.app.pools.blue.targets[0]!.ejectedUntil, 0, 'the only target was never ejected');

  const body = (await (await run.api('/api/v1/upstreams')).json()) as any;
  t.match(body.colours.blue, { healthy: true, requests: N, errors: 50, errorRate: 0.05 }, 'the error rate the rollout analysis sees');
  t.equal(body.colours.blue.targets[0].healthy, true);
  t.equal((await fetch(`${run.admin}/readyz`)).status, 200);
});

t.test('two targets, one failing in bursts: it is ejected, the colour keeps serving from the other', async (t) => {
  const good = await startUpstream(t, 'good');
  const bad = await startUpstream(t, 'bad');
  bad.handle((req, res) => {
    if (req.url === '/healthz') return void res.end('ok');
    res.writeHead(500);
    res.end();
  });
  const run = await startApp(t, { upstreams: { blue: { targets: [bad.url, good.url] }, green: { targets: [good.url] } } });
  const statuses = await load(run.proxy, 200, 4);
  t.ok((statuses.get(500) ?? 0) <= 3 + 4, `a few 500s before the ejection: ${JSON.stringify([...statuses])}`);
  t.notOk(statuses.has(503), 'never a 503');
  const body = (await (await run.api('/api/v1/upstreams')).json()) as any;
  t.same(body.colours.blue.targets.map((x: any) => x.healthy), [false, true], 'the ejected target shows healthy: false');
  t.equal(body.colours.blue.healthy, true);
});
