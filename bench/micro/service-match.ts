// `node bench/micro/service-match.ts`: what finding a request's service costs (CONTRACT §10), in
// one process, ns per match() for the 50-service table of bench/services.ts (25 services by host,
// 25 by path prefix on one host) against the one-service table. A Turnout request costs about
// 50 µs of CPU (README "Data-plane design and benchmarks"): the ratio of the two is the table's
// share of a request, whatever else runs on the machine (each figure is the best of 5 runs).
import { buildServiceMatcher, type MatchRule } from '../../src/routing/service-match.ts';

const fifty: MatchRule[] = [
  ...Array.from({ length: 25 }, (_, i) => ({ hosts: [`h${i}.bench.test`, `*.h${i}.bench.test`], pathPrefix: '/' })),
  ...Array.from({ length: 25 }, (_, i) => ({ hosts: ['api.bench.test'], pathPrefix: `/p${i}` })),
];
const one: MatchRule[] = [{ hosts: [], pathPrefix: '/' }];

function nsPerOp(name: string, rules: MatchRule[], host: string, url: string): number {
  const m = buildServiceMatcher(rules);
  const n = 2_000_000;
  let best = Infinity;
  let sink = 0;
  for (let run = 0; run < 5; run++) {
    for (let i = 0; i < 200_000; i++) sink += m.match(host, url);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += m.match(host, url);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / n);
  }
  process.stdout.write(`${name}: ${best.toFixed(1)} ns/match${sink === -Infinity ? '' : ''}\n`);
  return best;
}

const a = nsPerOp('one service (the dispatcher skips it)', one, 'api.bench.test', '/p24/item');
const b = nsPerOp('fifty: api.bench.test /p24/item (longest prefix scan)', fifty, 'api.bench.test', '/p24/item');
nsPerOp('fifty: x.h12.bench.test / (wildcard)', fifty, 'x.h12.bench.test', '/');
nsPerOp('fifty: h3.bench.test:8080 / (exact, port)', fifty, 'h3.bench.test:8080', '/');
nsPerOp('fifty: nowhere.test / (no match)', fifty, 'nowhere.test', '/');
process.stdout.write(`fifty − one: ${(b - a).toFixed(1)} ns per request = ${(((b - a) / 50_000) * 100).toFixed(3)} % of a 50 µs request\n`);
