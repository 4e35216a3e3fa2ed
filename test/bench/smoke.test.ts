// Keeps the benchmark harness from rotting: `npm run bench -- --smoke` (a few seconds) must
// print a table and write results for every contender. Performance is not asserted here.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireTool } from '../helpers/tools.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const turnoutBuilt = existsSync(path.join(root, 'dist', 'cli.js'));

interface Results {
  meta: { tools: { latency: string } };
  contenders: { id: string; status: 'ok' | 'skipped' | 'failed'; reason?: string }[];
  throughput: { summary: Record<string, { rps: number } | null> };
  latency: { summary: Record<string, { p99: number } | null> };
  memory: { transfers: Record<string, { uploadOk: boolean; downloadOk: boolean }> };
  flip: { requests: number; served: { blue: number; green: number } } | null;
  verdicts: { target: string; met: boolean | null }[];
}

// About 10–15 s on an idle 2-core machine; a generous bound for a busy one (the root's
// setTimeout also extends the runner's per-file timeout).
t.setTimeout(120_000);
t.test('bench --smoke prints a table and writes results for every contender', { timeout: 120_000 }, async (t) => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-test-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const child = spawn(process.execPath, [path.join(root, 'bench', 'run.ts'), '--smoke', '--no-build', '--out', out], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.equal(code, 0, `bench exits 0 (stderr: ${stderr.slice(-2000)})`);

  t.match(stdout, /\| contender\s+\| req\/s/, 'prints the markdown table header');
  t.match(stdout, /### Verdicts/, 'prints the verdicts');
  const results = JSON.parse(readFileSync(path.join(out, 'latest.json'), 'utf8')) as Results;
  const ids = results.contenders.map((c) => c.id);
  t.same(ids, ['direct', 'undici-proxy', 'fastify-http-proxy', 'turnout-w0', 'turnout-split', 'turnout-split-semi8', 'nginx'], 'every contender is reported, in order');

  for (const c of results.contenders) {
    // Only an optional tool that is not installed, or Turnout before `npm run build`, may skip.
    const mayBeMissing = c.id === 'nginx' || (c.id.startsWith('turnout') && !turnoutBuilt);
    if (c.status !== 'ok') {
      t.ok(mayBeMissing && c.status === 'skipped', `${c.id} skipped only for an allowed reason: ${c.reason}`);
      t.ok(stdout.includes(`| ${c.id}`), `${c.id} still has a row in the table`);
      continue;
    }
    t.ok((results.throughput.summary[c.id]?.rps ?? 0) > 0, `${c.id}: throughput measured`);
    t.ok(results.latency.summary[c.id]?.p99 !== undefined, `${c.id}: latency measured`);
    t.ok(results.memory.transfers[c.id]?.uploadOk && results.memory.transfers[c.id]?.downloadOk, `${c.id}: upload and download streamed through`);
    t.match(stdout, new RegExp(`\\| ${c.id}\\s+\\| \\d`), `${c.id}: a row with figures`);
  }
  t.equal(results.verdicts.length, 6, 'one verdict per target, plus the low-memory RSS line');
  // The bench runs without nginx and wrk (it says so in its table); this test says so as a skip.
  await t.test('the nginx reference ran', async (t) => {
    if (requireTool(t, 'nginx', 'nginx-light') === undefined) return;
    t.equal(results.contenders.find((c) => c.id === 'nginx')?.status, 'ok', 'nginx contender measured');
  });
  await t.test('paced latency measured with wrk', async (t) => {
    if (requireTool(t, 'wrk') === undefined) return;
    t.equal(results.meta.tools.latency, 'wrk', 'latency tool');
  });
  if (turnoutBuilt) {
    t.ok(results.flip && results.flip.requests > 0, 'flip under load ran');
  }
});
