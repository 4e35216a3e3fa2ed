// CONTRACT §7, faults, with real processes: a SIGKILLed worker replaced (by the warm spare, or a
// fresh fork) while the other serves; a spare that dies. Lifecycle: lifecycle.test.ts.
import t from 'tap';
import { Agent, request } from 'undici';
import { waitFor } from '../helpers/wait.ts';
import { cpuTicks, load, metricsText, serveWorkers, upstreams } from './harness.ts';

for (const spares of [1, 0]) {
  const how = spares === 1 ? 'the warm spare takes its place' : 'spareWorkers: 0, a fresh worker is forked';
  t.test(`SIGKILL of one worker under load: only its in-flight requests may fail, the other keeps serving; ${how}`, async (t) => {
    const up = await upstreams(t);
    const turnout = await serveWorkers(t, [...up.lines, 'workers: 2', `spareWorkers: ${spares}`, 'healthCheck: { intervalMs: 60000 }']);
    if (spares === 1) await waitFor(() => turnout.spares().size === 1, 'the warm spare', 20_000);
    const original = turnout.serving();
    t.equal(original.size, 2);
    const spare = [...turnout.spares().values()][0];
    const connections = 16;
    const agent = new Agent({ connections, pipelining: 1 });
    t.teardown(() => agent.close());
    let ok = 0;
    let stop = false;
    const failures: number[] = [];
    const client = async () => {
      while (!stop) {
        try {
          const res = await request(`${turnout.proxy}/k`, { dispatcher: agent });
          await res.body.dump();
          if (res.statusCode === 200) ok++;
          else failures.push(performance.now());
        } catch {
          failures.push(performance.now());
        }
      }
    };
    const clients = Array.from({ length: connections }, client);
    await waitFor(() => ok > 300, 'load to run');
    const [victimId, victim] = [...original][0]!;
    const [survivorId, survivor] = [...original][1]!;
    const survivorTicks = cpuTicks(survivor);
    process.kill(victim, 'SIGKILL');
    const killed = performance.now();
    const okAtKill = ok;
    // The replacement: the spare itself (already forked and built), or a new fork.
    await waitFor(() => turnout.serving().size === 2 && !turnout.serving().has(victimId), 'a replacement worker serving', 20_000, 5);
    const servingIn = Math.round(performance.now() - killed);
    const [replacementId, replacement] = [...turnout.serving()].find(([id]) => id !== survivorId)!;
    t.comment(`replacement ${replacementId} serving ${servingIn} ms after the SIGKILL (seen from the test; bench/worker-replace.ts measures it)`);
    if (spare !== undefined) {
      t.equal(replacement, spare, 'the warm spare became the replacement: no fork on the way');
      t.match(turnout.output(), new RegExp(`spare ${replacementId} takes ${victimId}'s place`));
    }
    t.equal(turnout.serving().get(survivorId), survivor, 'the other worker kept running');
    const okAtReplacement = ok;
    await waitFor(() => ok > okAtReplacement + 500, 'load after the replacement', 20_000);
    stop = true;
    await Promise.all(clients);

    t.ok(failures.length <= connections, `at most one failure per connection (${failures.length}), i.e. only in-flight requests of the killed worker`);
    t.ok(failures.every((at) => at >= killed), 'no failure before the kill');
    t.ok(ok > okAtKill + 500 && cpuTicks(survivor) > survivorTicks, 'the other worker kept serving');
    t.match(turnout.output(), /worker w\d died \(signal SIGKILL\); starting a replacement/);
    // New connections are spread over both sockets again: the replacement takes its share.
    const before = cpuTicks(replacement);
    t.ok((await load(turnout, 1500, 32)).every((s) => s === 200), 'new connections all served');
    t.ok(cpuTicks(replacement) > before, 'the replacement serves some of them');
    if (spares === 1) {
      // A new spare is forked once the old one serves, for the next death.
      await waitFor(() => turnout.spares().size === 1 && ![...turnout.spares().values()].includes(spare!), 'a new warm spare', 20_000);
      t.pass('a new spare is warm');
    }
    const metrics = await metricsText(turnout);
    t.match(metrics, /^turnout_worker_restarts_total 1$/m);
    t.match(metrics, /^turnout_workers\{state="ready"\} 2$/m);
  });
}

t.test('a spare that dies is re-forked; the serving workers are not touched', async (t) => {
  const up = await upstreams(t);
  const turnout = await serveWorkers(t, [...up.lines, 'workers: 2', 'healthCheck: { intervalMs: 60000 }']);
  await waitFor(() => turnout.spares().size === 1, 'the warm spare', 20_000);
  const serving = [...turnout.serving().values()];
  const spare = [...turnout.spares().values()][0]!;
  process.kill(spare, 'SIGKILL');
  await waitFor(() => {
    const now = [...turnout.spares().values()];
    return now.length === 1 && now[0] !== spare;
  }, 'another spare', 20_000);
  t.not([...turnout.spares().values()][0], spare, 'a new spare process');
  t.same([...turnout.serving().values()], serving, 'the same two workers serve');
  t.ok((await load(turnout, 200, 8)).every((s) => s === 200));
  t.match(await metricsText(turnout), /^turnout_worker_restarts_total 0$/m, 'a spare is not a restart');
});
