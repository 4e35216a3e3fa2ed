// request-tee.ts on a plain Readable: the copy sees exactly what the consumer reads, when it
// reads it; the consumer's stream is unchanged; the budget is charged and given back.
import t from 'tap';
import { PassThrough } from 'node:stream';
import { MemoryBudget } from '../../src/shadow/capture.ts';
import { RequestTee, type TeeOutcome } from '../../src/shadow/request-tee.ts';

function tee(maxBytes: number, budgetBytes = 1 << 20) {
  const req = new PassThrough();
  const budget = new MemoryBudget(budgetBytes);
  const outcomes: TeeOutcome[] = [];
  const copy = new RequestTee(req, maxBytes, budget, (o) => outcomes.push(o));
  return { req, budget, outcomes, copy };
}

async function consume(req: PassThrough): Promise<string> {
  let got = '';
  for await (const chunk of req) got += String(chunk);
  return got;
}

t.test('the copy is the body the consumer read, whole; the budget holds it until released', async (t) => {
  const { req, budget, outcomes, copy } = tee(100);
  req.write('ab');
  t.same(outcomes, [], 'nothing copied before the consumer reads');
  t.equal(budget.used, 0);
  req.end('cd');
  t.equal(await consume(req), 'abcd', 'the consumer reads the stream as before');
  t.equal(outcomes.length, 1);
  t.same(outcomes[0], { ok: true, body: Buffer.from('abcd') });
  t.equal(budget.used, 4, 'held while the shadow may still send it');
  copy.release();
  t.equal(budget.used, 0);
  t.notOk(Object.hasOwn(req, 'emit'), 'the stream\'s own emit again');
});

t.test('past maxBytes, or past the budget: too_large, nothing held, the consumer unaffected', async (t) => {
  for (const [what, max, budgetBytes] of [['maxBytes', 3, 1 << 20], ['budget', 100, 3]] as const) {
    const { req, budget, outcomes } = tee(max, budgetBytes);
    req.write('ab');
    req.end('cd');
    t.equal(await consume(req), 'abcd', `${what}: the consumer gets everything`);
    t.same(outcomes, [{ ok: false, why: 'too_large' }], `${what}: dropped once`);
    t.equal(budget.used, 0, `${what}: nothing held`);
  }
});

t.test('a body that never ends: aborted, nothing held', async (t) => {
  const { req, budget, outcomes } = tee(100);
  req.on('error', () => {});
  req.on('data', () => {});
  req.write('ab');
  await new Promise((r) => setImmediate(r));
  req.destroy();
  await new Promise((r) => setImmediate(r));
  t.same(outcomes, [{ ok: false, why: 'aborted' }]);
  t.equal(budget.used, 0);
});
