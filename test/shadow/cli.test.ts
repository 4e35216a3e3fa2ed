// `turnout shadow status|set N` end to end: dist/cli.js spawned against a real app.
import t from 'tap';
import { execFile } from 'node:child_process';
import { startApp, TEST_TOKEN } from '../helpers/app.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { ensureBuilt } from '../helpers/build.ts';

t.before(ensureBuilt);

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['dist/cli.js', ...args], { env: { ...process.env, TURNOUT_ADMIN_TOKEN: TEST_TOKEN }, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 99) : 0, stdout, stderr });
    });
  });
}

t.test('shadow set N, shadow status, and a refused value', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  const run = await startApp(t, { upstreams: { blue: { targets: [blue.url] }, green: { targets: [green.url] } } }, { background: false });
  const set = await cli(['shadow', 'set', '25', '--reason', 'try green', '--admin', run.admin]);
  t.equal(set.code, 0, set.stderr);
  t.match(set.stdout, /percent\s+25%/);
  t.equal(run.app.state.snapshot.shadowPercent, 25);
  const status = await cli(['shadow', 'status', '--json', '--admin', run.admin]);
  t.equal(status.code, 0, status.stderr);
  t.match(JSON.parse(status.stdout), { percent: 25, compared: 0, mismatchRate: 0, byKind: { status: 0, headers: 0, body: 0 }, noise: [], samples: [] });
  const bad = await cli(['shadow', 'set', '101', '--admin', run.admin]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /400.*percent/);
  t.equal(run.app.state.snapshot.shadowPercent, 25, 'unchanged');
  const usage = await cli(['shadow', 'set', 'lots', '--admin', run.admin]);
  t.not(usage.code, 0);
  t.match(usage.stderr, /percent 0\.\.100/);
});
