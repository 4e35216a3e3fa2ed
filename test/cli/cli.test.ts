// The `turnout` CLI end to end: the compiled dist/cli.js, spawned on Node 24, against a real
// admin server. Asserts what the user saw (exit code, stdout, stderr) and what the server holds.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, promises as fs, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { Test } from 'tap';
import { FileStore } from '../../src/state/file-store.ts';
import { startAdmin } from '../helpers/admin.ts';
import { deadPort } from '../helpers/upstream.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const node = path.join(root, 'node_modules/.bin/node');
const cli = path.join(root, 'dist/cli.js');

// Build dist/ unless it is already newer than every source the CLI loads (`npm test` builds first).
// tsc emits even when another part's file has a type error; that is its own test's business.
const cliSources = ['cli.ts', 'client', 'admin/state-view.ts', 'state/model.ts', 'domain.ts', 'errors.ts'];
function stale(): boolean {
  const files = cliSources.flatMap((rel) => {
    const full = path.join(root, 'src', rel);
    return statSync(full).isDirectory() ? readdirSync(full).filter((f) => f.endsWith('.ts')).map((f) => path.join(rel, f)) : [rel];
  });
  return files.some((rel) => {
    const out = path.join(root, 'dist', rel.replace(/\.ts$/, '.js'));
    return !existsSync(out) || statSync(out).mtimeMs < statSync(path.join(root, 'src', rel)).mtimeMs;
  });
}
if (stale()) {
  const build = spawnSync(node, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root, encoding: 'utf8' });
  if (stale()) throw new Error(`tsc did not produce a fresh dist/cli.js:\n${build.stdout}${build.stderr}`);
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const fullEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined && k !== 'TURNOUT_ADMIN_URL') fullEnv[k] = v;
  return new Promise((resolve) => {
    execFile(node, [cli, ...args], { env: fullEnv, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 99) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function oneLine(t: Test, r: Run, pattern: RegExp, name: string): void {
  t.equal(r.stderr.trimEnd().split('\n').length, 1, `${name}: one line on stderr`);
  t.match(r.stderr.trimEnd(), pattern, `${name}: ${r.stderr.trim()}`);
  t.equal(r.stdout, '', `${name}: nothing on stdout`);
}

t.test('usage', async (t) => {
  const help = await run(['--help']);
  t.equal(help.code, 0);
  for (const cmd of ['serve --config FILE', 'status', 'weight N', 'flip', 'rollback', 'events']) t.match(help.stdout, `turnout ${cmd}`);
  t.equal((await run([])).code, 2, 'no command: usage, exit 2');
  const weightHelp = await run(['weight', '--help']);
  t.equal(weightHelp.code, 0);
  t.match(weightHelp.stdout, /--if-match/);
  const unknown = await run(['frobnicate']);
  t.equal(unknown.code, 2);
  oneLine(t, unknown, /unknown command "frobnicate"/, 'unknown command');
  const badOption = await run(['status', '--colour', 'blue']);
  t.equal(badOption.code, 2);
  oneLine(t, badOption, /turnout status: .*--colour/, 'unknown option');
  const serve = await run(['serve']);
  t.equal(serve.code, 2);
  oneLine(t, serve, /serve needs --config FILE/, 'serve without a config');
});

t.test('status, weight, flip, rollback, events against a real admin server', async (t) => {
  const admin = await startAdmin(t);
  const env = { TURNOUT_ADMIN_TOKEN: admin.token };
  const at = ['--admin', admin.url];

  const status = await run(['status', ...at], env);
  t.equal(status.code, 0, status.stderr);
  t.match(status.stdout, /^active +blue$/m);
  t.match(status.stdout, /^canary +green at 0%$/m);
  t.match(status.stdout, /^split +blue 100% · green 0%$/m);
  t.match(status.stdout, /^sticky +by cookie \(turnout_id\)$/m);
  t.match(status.stdout, /^version +0$/m);

  const statusJson = await run(['status', '--json', ...at], env);
  t.same(JSON.parse(statusJson.stdout), (await admin.call('GET', '/api/v1/state')).json, '--json prints the API state');

  const weight = await run(['weight', '12.5', '--reason', 'first slice', ...at], env);
  t.equal(weight.code, 0, weight.stderr);
  t.equal(weight.stdout, 'canary green at 12.5%, blue at 87.5% (version 1)\n');
  t.match(admin.state.state, { version: 1, weight: 12.5 }, 'the server holds the change');

  const tooBig = await run(['weight', '101', ...at], env);
  t.equal(tooBig.code, 1);
  oneLine(t, tooBig, /^turnout weight: 400 Bad Request: body\.weight must be <= 100$/, 'weight 101');
  const notNumber = await run(['weight', 'lots', ...at], env);
  t.equal(notNumber.code, 2);
  oneLine(t, notNumber, /weight must be a number/, 'weight lots');
  t.equal(admin.state.state.version, 1, 'rejected commands changed nothing');

  const stale = await run(['weight', '20', '--if-match', '0', ...at], env);
  t.equal(stale.code, 1);
  oneLine(t, stale, /412 Precondition Failed: If-Match "0" does not match the current version "1"/, 'stale --if-match');

  const flip = await run(['flip', '--json', '--reason', 'ship', '--actor', 'ci', ...at], env);
  t.equal(flip.code, 0, flip.stderr);
  t.match(JSON.parse(flip.stdout), { version: 2, active: 'green', canary: { colour: 'blue', weight: 0 } });

  const rollback = await run(['rollback', ...at], env);
  t.equal(rollback.code, 0, rollback.stderr);
  t.equal(rollback.stdout, 'rolled back: blue is active, green at 0% (version 3)\n');
  const nothing = await run(['rollback', ...at], env);
  t.equal(nothing.code, 1);
  oneLine(t, nothing, /409 Conflict: nothing to roll back/, 'rollback with nothing to undo');

  const events = await run(['events', '--limit', '2', ...at], env);
  t.equal(events.code, 0, events.stderr);
  const lines = events.stdout.trimEnd().split('\n');
  t.equal(lines.length, 3, 'a header and two events');
  t.match(lines[0], /^VERSION +AT +ACTION +FROM +TO +ACTOR +REASON$/);
  t.match(lines[1], /^3 +\S+ +rollback +green 0% +blue 0% +admin$/);
  t.match(lines[2], /^2 +\S+ +flip +blue 12\.5% +green 0% +ci +ship$/);
  const eventsJson = await run(['events', '--json', ...at], env);
  t.same(JSON.parse(eventsJson.stdout).map((e: { version: number }) => e.version), [3, 2, 1]);
  const badLimit = await run(['events', '--limit', 'x', ...at], env);
  t.equal(badLimit.code, 2);
  const serverLimit = await run(['events', '--limit', '0', ...at], env);
  t.equal(serverLimit.code, 1);
  oneLine(t, serverLimit, /querystring\.limit must be an integer 1\.\.10000/, 'events --limit 0');
});

t.test('failures: a one-line reason and a non-zero exit', async (t) => {
  const admin = await startAdmin(t, { store: new FileStore(path.join(t.testdir(), 'data', 'state.json')) });
  const at = ['--admin', admin.url];

  const noToken = await run(['status', ...at], { TURNOUT_ADMIN_TOKEN: undefined });
  t.equal(noToken.code, 1);
  oneLine(t, noToken, /unauthorized \(401\).*TURNOUT_ADMIN_TOKEN/, 'no token');
  const wrongToken = await run(['flip', ...at], { TURNOUT_ADMIN_TOKEN: 'wrong' });
  t.equal(wrongToken.code, 1);
  oneLine(t, wrongToken, /unauthorized \(401\)/, 'wrong token');
  t.equal(admin.state.state.version, 0);

  const port = await deadPort();
  const refused = await run(['status', '--admin', `http://127.0.0.1:${port}`], { TURNOUT_ADMIN_TOKEN: admin.token });
  t.equal(refused.code, 1);
  oneLine(t, refused, new RegExp(`cannot reach the admin API at http://127\\.0\\.0\\.1:${port} \\(connection refused\\)`), 'connection refused');

  const badUrl = await run(['status', '--admin', 'ftp://x'], { TURNOUT_ADMIN_TOKEN: admin.token });
  t.equal(badUrl.code, 2);

  // A 5xx: the state directory becomes unwritable under the running server.
  const dataDir = path.dirname((admin.store as FileStore).path);
  await fs.rm(dataDir, { recursive: true });
  await fs.writeFile(dataDir, 'in the way');
  const serverError = await run(['weight', '5', ...at], { TURNOUT_ADMIN_TOKEN: admin.token });
  t.equal(serverError.code, 1);
  oneLine(t, serverError, /^turnout weight: 500 Internal Server Error: state file .* cannot be written/, '500');
});
