// Fleet-wide telemetry (CONTRACT §6): 300 requests through A and 200 through B show as 500 in
// GET /api/v1/upstreams on either replica; `?replica=ID` shows one share; /metrics stays per
// process and carries the replica label.
import t from 'tap';
import { redisMissing, startRedis } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { replica, upstreams } from './harness.ts';

const missing = redisMissing();
if (missing !== null) {
  t.comment(missing);
  t.pass(missing);
} else {
  t.test('300 via A + 200 via B = 500 on both', async (t) => {
    const redis = await startRedis(t);
    const up = await upstreams(t);
    const a = await replica(t, redis.url, up, 'a');
    const b = await replica(t, redis.url, up, 'b');
    const send = async (proxy: string, n: number) => {
      for (let i = 0; i < n; i++) {
        const res = await fetch(`${proxy}/r${i}`);
        await res.arrayBuffer();
      }
    };
    await Promise.all([send(a.proxy, 300), send(b.proxy, 200)]);
    t.equal(up.blue.seen.length, 500, 'the upstream saw 500');
    type View = { colours: { blue: { requests: number; targets: { requests: number }[] } } };
    const blue = async (r: typeof a, q = '') => ((await (await r.api('/api/v1/upstreams' + q)).json()) as View).colours.blue;
    await waitFor(async () => (await blue(a)).requests === 500 && (await blue(b)).requests === 500, 'both see 500', 10_000);
    t.equal((await blue(a)).targets[0]?.requests, 500, 'per target too');
    t.equal((await blue(a, '?replica=a')).requests, 300, "A's own share");
    t.equal((await blue(a, '?replica=b')).requests, 200, "B's share, seen from A");
    t.equal((await blue(b, '?replica=a')).requests, 300);
    t.equal((await a.api('/api/v1/upstreams?replica=nobody')).status, 404);
    const metrics = await (await fetch(a.admin + '/metrics')).text();
    const line = metrics.split('\n').find((l) => l.startsWith('turnout_requests_total{') && l.includes('colour="blue"') && l.includes('2xx'));
    t.match(line, /replica="a"/, '/metrics is labelled by replica');
    t.match(line, / 300$/, 'and counts only this process');
    t.equal(a.app.telemetry.colourSummary('blue').requests, 300, "the local Telemetry is this process's own");
  });
}
