// RetryBudget (src/proxy/retry-budget.ts) with an injected clock: in any window of
// `windowSeconds`, retries ≤ minRetries + ratio × requests; credit and spending expire.
import t from 'tap';
import { RetryBudget } from '../../src/proxy/retry-budget.ts';

function setup(ratio: number, options: { windowSeconds?: number; minRetries?: number } = {}) {
  let now = 1_700_000_000_000;
  const clock = { now: () => now };
  const budget = new RetryBudget(ratio, { clock, ...options });
  const advance = (ms: number) => void (now += ms);
  /** Deposits `requests`, then withdraws until refused: how many retries were allowed. */
  const burst = (requests: number, tries = 10_000) => {
    for (let i = 0; i < requests; i++) budget.deposit();
    let allowed = 0;
    while (allowed < tries && budget.tryWithdraw()) allowed++;
    return allowed;
  };
  return { budget, advance, burst };
}

t.test('how many retries a burst gets', async (t) => {
  // [name, ratio, minRetries, requests before the burst, retries allowed]
  const rows: [string, number, number | undefined, number, number][] = [
    ['no traffic: the reserve', 0.2, undefined, 0, 10],
    ['ratio 0: the reserve only', 0, undefined, 1000, 10],
    ['100 requests at 20 %', 0.2, undefined, 100, 30],
    ['1000 requests at 20 %: no fixed cap', 0.2, undefined, 1000, 210],
    ['ratio 1: one retry per request', 1, undefined, 50, 60],
    ['no reserve, 4 requests at 20 %: not one whole token', 0.2, 0, 4, 0],
    ['no reserve, 5 requests at 20 %', 0.2, 0, 5, 1],
  ];
  for (const [name, ratio, minRetries, requests, want] of rows) {
    const { burst } = setup(ratio, minRetries === undefined ? {} : { minRetries });
    t.equal(burst(requests), want, name);
  }
});

t.test('credit and spending expire after the window', async (t) => {
  const { budget, advance, burst } = setup(0.2);
  t.equal(burst(100), 30, 'earned 20 plus the reserve');
  advance(5_000);
  t.equal(burst(0), 0, 'spent: nothing left 5 s later');
  t.equal(burst(50), 10, 'new traffic earns new retries');
  advance(5_000);
  // The first burst's second has left the 10 s window: its requests and retries no longer count.
  t.equal(budget.balance(), 10 + 0.2 * 50 - 10, 'only the last 5 s count');
  advance(10_000);
  t.equal(budget.balance(), 10, 'an idle window is back to the reserve');
});

t.test('a colour failing everywhere: retries ≤ reserve + ratio × requests in every window', async (t) => {
  const { budget, advance } = setup(0.2);
  let requests = 0;
  let retries = 0;
  // 30 s of steady traffic, each request failing and asking for a retry.
  for (let ms = 0; ms < 30_000; ms += 10) {
    budget.deposit();
    requests++;
    if (budget.tryWithdraw()) retries++;
    advance(10);
  }
  t.ok(retries <= 0.2 * requests + 10 * 3, `${retries} retries for ${requests} requests over 3 windows`);
  t.ok(retries >= 0.2 * requests, 'and the budget is usable');
});
