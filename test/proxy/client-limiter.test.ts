// The per-client concurrency cap (src/proxy/client-limiter.ts) by table, and the stall sweep
// of src/proxy/slow-clients.ts with plain socket-like objects and explicit times.
import t from 'tap';
import { ClientLimiter } from '../../src/proxy/client-limiter.ts';
import { StallSweep, type SweptSocket } from '../../src/proxy/slow-clients.ts';

t.test('client limiter: a table of acquire/release steps', async (t) => {
  type Step = [op: 'acquire' | 'release', client: string, expect?: boolean];
  const cases: { name: string; max: number; maxClients?: number; steps: Step[]; inFlight: Record<string, number> }[] = [
    {
      name: 'cap 2: the third concurrent request of a client is refused, others unaffected',
      max: 2,
      steps: [['acquire', 'a', true], ['acquire', 'a', true], ['acquire', 'a', false], ['acquire', 'b', true], ['release', 'a'], ['acquire', 'a', true]],
      inFlight: { a: 2, b: 1 },
    },
    { name: 'cap 0: no cap', max: 0, steps: [['acquire', 'a', true], ['acquire', 'a', true], ['acquire', 'a', true]], inFlight: { a: 0 } },
    {
      name: 'a client whose requests all finished starts again from 0 (an extra release does not go below)',
      max: 1,
      steps: [['acquire', 'a', true], ['release', 'a'], ['release', 'a'], ['acquire', 'a', true], ['acquire', 'a', false]],
      inFlight: { a: 1 },
    },
    {
      name: 'bounded by client count: the least recent client is evicted and its late release is ignored',
      max: 1,
      maxClients: 2,
      steps: [['acquire', 'a', true], ['acquire', 'b', true], ['acquire', 'c', true], ['release', 'a'], ['acquire', 'a', true]],
      inFlight: { a: 1, b: 0, c: 1 },
    },
  ];
  for (const c of cases) {
    const limiter = new ClientLimiter(c.max, c.maxClients);
    c.steps.forEach(([op, client, expect], i) => {
      if (op === 'acquire') t.equal(limiter.tryAcquire(client), expect, `${c.name}: step ${i}`);
      else limiter.release(client);
    });
    for (const [client, n] of Object.entries(c.inFlight)) t.equal(limiter.inFlight(client), n, `${c.name}: ${client} in flight`);
    t.ok(limiter.tracked <= (c.maxClients ?? Infinity), `${c.name}: bounded`);
    t.equal(limiter.clients, Object.values(c.inFlight).filter((n) => n > 0).length, `${c.name}: clients in flight`);
  }
  const limiter = new ClientLimiter(1);
  limiter.tryAcquire('x');
  limiter.tryAcquire('x');
  t.equal(limiter.rejected, 1, 'refusals are counted');
});

t.test('stall sweep: only output that stays undrained, with nothing new written, for sendMs is cut', async (t) => {
  const socket = (needDrain: boolean, bytes: number) => {
    const s = { writableNeedDrain: needDrain, bytesWritten: bytes, destroyed: false, destroy() { s.destroyed = true; } };
    return s;
  };
  const sweep = new StallSweep(1000);
  const idle = socket(false, 0);
  const stalled = socket(true, 100);
  const flowing = socket(true, 100);
  for (const s of [idle, stalled, flowing] as SweptSocket[]) sweep.add(s);
  sweep.sweep(1);
  sweep.sweep(500);
  flowing.bytesWritten = 200; // drained and written to again between passes
  sweep.sweep(999);
  t.notOk(stalled.destroyed, 'stalled 998 ms: kept');
  sweep.sweep(1001);
  t.ok(stalled.destroyed, 'stalled 1000 ms: destroyed');
  t.notOk(flowing.destroyed, 'progress restarts the clock');
  t.notOk(idle.destroyed, 'an idle keep-alive connection is not a stalled reader');
  flowing.writableNeedDrain = false;
  sweep.sweep(1600);
  flowing.writableNeedDrain = true;
  sweep.sweep(2000);
  sweep.sweep(2999);
  t.notOk(flowing.destroyed, 'a drain in between restarts the clock');
  sweep.sweep(3000);
  t.ok(flowing.destroyed);
  t.equal(sweep.destroyed, 2);
  t.equal(sweep.size, 1, 'destroyed sockets leave the sweep');
});
