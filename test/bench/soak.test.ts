// The pure parts of `npm run bench:soak` (bench/lib/soak-verdict.ts) by table, and the shipped
// Node flags kept in step: `npm start`, the Dockerfile's ENTRYPOINT and the soak's default.
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fitGrowth, shippedNodeFlags } from '../../bench/lib/soak-verdict.ts';

const root = path.resolve(import.meta.dirname, '../..');

t.test('fitGrowth: least-squares growth over the window, and last minute minus first', async (t) => {
  const series = (f: (t: number) => number, seconds = 600, step = 5) => Array.from({ length: seconds / step + 1 }, (_, i) => ({ t: 1000 + i * step, rssMB: f(i * step) }));
  const cases: [string, ReturnType<typeof series>, number, number][] = [
    ['flat', series(() => 150), 0, 0],
    ['1 MB a minute over 10 minutes', series((s) => 150 + s / 60), 10, 9],
    ['a saw-tooth around a level', series((s) => 150 + ((s / 5) % 2 === 0 ? 3 : -3)), 0, 0],
  ];
  for (const [name, samples, fitted, endMinusStart] of cases) {
    const g = fitGrowth(samples, 600);
    t.ok(Math.abs(g.fittedMB - fitted) < 0.5, `${name}: fitted ${g.fittedMB.toFixed(2)} ≈ ${fitted}`);
    t.ok(Math.abs(g.endMinusStartMB - endMinusStart) < 0.6, `${name}: end − start ${g.endMinusStartMB.toFixed(2)} ≈ ${endMinusStart}`);
  }
  t.ok(Number.isNaN(fitGrowth([{ t: 0, rssMB: 1 }], 600).fittedMB), 'one sample: no verdict');
});

t.test('shippedNodeFlags reads the flags between node and the script', async (t) => {
  const pkg = (start: string) => JSON.stringify({ scripts: { start } });
  t.same(shippedNodeFlags(pkg('node --max-semi-space-size=8 dist/demo.js')), ['--max-semi-space-size=8']);
  t.same(shippedNodeFlags(pkg('node dist/demo.js')), []);
  t.same(shippedNodeFlags(pkg('tsx src/demo.ts --x')), []);
});

t.test('npm start and the Dockerfile ship the same Node flags', async (t) => {
  const flags = shippedNodeFlags(readFileSync(path.join(root, 'package.json'), 'utf8'));
  t.ok(flags.length > 0, `npm start carries Node flags (${flags.join(' ')})`);
  const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  const entry = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile);
  t.ok(entry, 'the Dockerfile has an exec-form ENTRYPOINT');
  t.same(JSON.parse(entry![1]!), ['node', ...flags, 'dist/cli.js'], 'ENTRYPOINT: node, the same flags, dist/cli.js');
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  t.equal(pkg.scripts['bench:soak'], 'node bench/soak.ts', 'npm run bench:soak exists');
});
