// Zero-drop flips (issue 3): 50 keep-alive clients through 10 flips and weight changes in about
// 10 seconds; no failed or non-2xx response, and every response came from a colour that was in
// force while the request was in flight.
import t from 'tap';
import { toWeight } from '../../src/domain.ts';
import { Agent, request } from 'undici';
import { startUpstream } from '../helpers/upstream.ts';
import { startApp } from '../helpers/app.ts';
import { decide } from '../../src/routing/decide.ts';
import { snapshotOf, type RoutingSnapshot } from '../../src/state/model.ts';

t.test('flips and weight changes under load drop nothing', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  const turnout = await startApp(t, {
    upstreams: { blue: { targets: [blue.url] }, green: { targets: [green.url] } },
    routing: { sticky: { by: 'header', header: 'x-user-id' } },
  }, { background: false });

  // Timeline of states: each entry is in force from `from` (request sent) — the old one until `to` (answer).
  const timeline: { from: number; to: number; snapshot: RoutingSnapshot }[] = [
    { from: 0, to: 0, snapshot: turnout.app.state.snapshot },
  ];
  const changes: [string, string, unknown?][] = [
    ['PUT', '/api/v1/canary', { weight: 10 }],
    ['PUT', '/api/v1/canary', { weight: 50 }],
    ['POST', '/api/v1/flip'],
    ['PUT', '/api/v1/canary', { weight: 8.5 }],
    ['POST', '/api/v1/rollback'],
    ['POST', '/api/v1/rollback'],
    ['PUT', '/api/v1/canary', { weight: 100 }],
    ['POST', '/api/v1/flip'],
    ['PUT', '/api/v1/canary', { weight: 30 }],
    ['POST', '/api/v1/flip'],
  ];

  const agent = new Agent({ connections: 50, pipelining: 1 });
  t.teardown(() => agent.close());
  let stop = false;
  const results = { ok: 0, failed: 0, non2xx: 0, wrongColour: 0, colours: new Set<string>() };
  const check = (key: string, colour: string, sent: number, received: number) => {
    // Allowed: any state whose span overlaps [sent, received].
    for (const s of timeline) {
      const end = s.to === 0 ? Infinity : s.to;
      if (s.from <= received && end >= sent) {
        if (decide({ overrideHeader: undefined, overrideCookie: undefined, stickyKey: key }, s.snapshot, Math.random) === colour) return true;
      }
    }
    return false;
  };
  const client = async (id: number) => {
    let n = 0;
    while (!stop) {
      const key = `c${id}-${n++}`;
      const sent = performance.now();
      try {
        const res = await request(turnout.proxy + '/load', { dispatcher: agent, headers: { 'x-user-id': key } });
        const body = (await res.body.json()) as { name: string };
        const received = performance.now();
        if (res.statusCode < 200 || res.statusCode > 299) results.non2xx++;
        else results.ok++;
        results.colours.add(body.name);
        if (!check(key, body.name, sent, received)) results.wrongColour++;
      } catch {
        results.failed++;
      }
    }
  };
  const clients = Array.from({ length: 50 }, (_, i) => client(i));

  for (const [method, path, body] of changes) {
    await new Promise((r) => setTimeout(r, 900));
    const before = performance.now();
    const res = await turnout.api(path, { method, ...(body ? { body: JSON.stringify(body) } : {}) });
    t.equal(res.status, 200, `${method} ${path} ${JSON.stringify(body ?? '')}`);
    const state = (await res.json()) as { version: number; active: 'blue' | 'green'; canary: { weight: number } };
    // The old state may serve until the call answered; the new one from the moment it was sent.
    timeline.at(-1)!.to = performance.now();
    timeline.push({ from: before, to: 0, snapshot: snapshotOf({ version: state.version, active: state.active, weight: toWeight(state.canary.weight) }) });
  }
  await new Promise((r) => setTimeout(r, 500));
  stop = true;
  await Promise.all(clients);

  t.equal(results.failed, 0, 'no failed request');
  t.equal(results.non2xx, 0, 'no non-2xx response');
  t.equal(results.wrongColour, 0, 'every response from a colour in force while it was in flight');
  t.ok(results.ok > 1000, `${results.ok} requests served`);
  t.same([...results.colours].sort(), ['blue', 'green'], 'both colours served');
  t.equal(blue.seen.length + green.seen.length, results.ok, 'the upstreams saw exactly the requests answered');
});
