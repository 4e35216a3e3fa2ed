// `turnout check --config FILE` and `turnout --version`: the compiled dist/cli.js on Node 24,
// as a user runs them. Asserts exit code, stdout (the effective config) and stderr (every error
// with its field path); and the redaction and Node-version rules as tables.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import YAML from 'yaml';
import { redact, REDACTED } from '../../src/config/check.ts';
import { serveNodeProblem } from '../../src/cli.ts';
import { ensureBuilt } from '../helpers/build.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const node = path.join(root, 'node_modules/.bin/node');
const cli = path.join(root, 'dist/cli.js');
ensureBuilt();

const dir = mkdtempSync(path.join(tmpdir(), 'turnout-check-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = 'check-test-token-0123456789';

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(node, [cli, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 99) : 0, stdout, stderr });
    });
  });
}

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

t.test('a valid config: the effective config with defaults, secrets redacted, exit 0', async (t) => {
  const cfg = file('ok.yaml', [
    'admin: { token: "${TURNOUT_ADMIN_TOKEN}" }',
    'upstreams:',
    '  blue: { targets: ["http://10.0.0.1:3000/"] }',
    '  green: { targets: ["http://10.0.1.1:3000"] }',
    'notify: { webhooks: ["https://user:pw@hooks.example/x"], secret: hush }',
    '',
  ].join('\n'));
  const r = await run(['check', '--config', cfg], { TURNOUT_ADMIN_TOKEN: TOKEN });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, `turnout check: ${cfg}: configuration is valid\n`);
  const shown = YAML.parse(r.stdout) as any;
  t.same(shown.listen, { host: '0.0.0.0', port: 8080, tls: null, http2: true }, 'defaults filled in');
  t.equal(shown.timeouts.responseMs, 30000);
  t.same(shown.upstreams.blue.targets, ['http://10.0.0.1:3000'], 'normalised as serve would use it');
  t.equal(shown.admin.token, REDACTED, 'the admin token is not printed');
  t.equal(shown.notify.secret, REDACTED);
  t.same(shown.notify.webhooks, [`https://${REDACTED}@hooks.example/x`], 'URL credentials are not printed');
  t.notOk(r.stdout.includes(TOKEN) || r.stdout.includes('hush') || r.stdout.includes(':pw@'), 'no secret anywhere in the output');

  const json = await run(['check', '--config', cfg, '--json'], { TURNOUT_ADMIN_TOKEN: TOKEN });
  t.equal(json.code, 0);
  t.same(JSON.parse(json.stdout), shown, '--json prints the same config as JSON');
});

t.test('the shipped example passes', async (t) => {
  const r = await run(['check', '--config', path.join(root, 'config/turnout.example.yaml')], { TURNOUT_ADMIN_TOKEN: TOKEN });
  t.equal(r.code, 0, r.stderr);
});

t.test('an invalid config: every error with its field path on stderr, nothing on stdout, exit 1', async (t) => {
  const cfg = file('bad.yaml', [
    'admin: { token: short }',
    'upstreams:',
    '  blue: { targets: ["ftp://x"] }',
    '  green: { targets: [] }',
    'routig: {}',
    'timeouts: { connectMs: "2000" }',
    '',
  ].join('\n'));
  const r = await run(['check', '--config', cfg]);
  t.equal(r.code, 1);
  t.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  t.equal(lines[0], `turnout check: ${cfg}: invalid configuration`);
  for (const field of ['admin.token', 'upstreams.blue.targets[0]', 'upstreams.green.targets', 'routig', 'timeouts.connectMs']) {
    t.ok(lines.some((l) => l.trimStart().startsWith(`${field}: `)), `${field} is named`);
  }
  t.match(r.stderr, /routig: unknown field \(did you mean "routing"\?\)/);
  t.notOk(r.stderr.includes('short'), 'the rejected token is not echoed');
});

t.test('unreadable file, bad YAML, an unset ${VAR}, bad arguments', async (t) => {
  const missing = await run(['check', '--config', path.join(dir, 'nope.yaml')]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /nope\.yaml: cannot read the config file/);
  const yaml = await run(['check', '--config', file('broken.yaml', 'upstreams: [\n')]);
  t.equal(yaml.code, 1);
  t.match(yaml.stderr, /broken\.yaml: invalid YAML/);
  const unset = await run(['check', '--config', file('unset.yaml', 'admin: { token: "${NOT_SET_ANYWHERE}" }\nupstreams: { blue: { targets: ["http://a:1"] }, green: { targets: ["http://b:1"] } }\n')]);
  t.equal(unset.code, 1);
  t.match(unset.stderr, /admin\.token: .*NOT_SET_ANYWHERE/);
  const noFile = await run(['check']);
  t.equal(noFile.code, 2, 'usage error');
  t.match(noFile.stderr, /check needs --config FILE/);
  const help = await run(['check', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /usage: turnout check --config FILE/);
});

t.test('--version prints the package version', async (t) => {
  const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = await run([flag]);
    t.equal(r.code, 0);
    t.equal(r.stdout, `turnout ${version}\n`);
  }
  const usage = await run(['--help']);
  t.match(usage.stdout, /turnout check --config FILE/, 'check is in the usage');
});

t.test('redact: secrets by field name, credentials in URLs', async (t) => {
  const rows: [unknown, unknown][] = [
    [{ token: 'abc' }, { token: REDACTED }],
    [{ secret: '' }, { secret: '' }],
    [{ nested: { adminToken: 'x', password: 'y', name: 'keep' } }, { nested: { adminToken: REDACTED, password: REDACTED, name: 'keep' } }],
    [{ url: 'redis://:pw@redis:6379' }, { url: `redis://${REDACTED}@redis:6379` }],
    [{ url: 'redis://redis:6379' }, { url: 'redis://redis:6379' }],
    [{ list: ['http://u:p@h/', 'http://h/a@b'] }, { list: [`http://${REDACTED}@h/`, 'http://h/a@b'] }],
    [{ port: 1, on: true, none: null }, { port: 1, on: true, none: null }],
  ];
  for (const [input, want] of rows) t.same(redact(input), want, JSON.stringify(input));
});

t.test('serve refuses Nodes older than 24 with a reason', async (t) => {
  t.equal(serveNodeProblem('24.0.0'), undefined);
  t.equal(serveNodeProblem('26.1.0'), undefined);
  t.match(serveNodeProblem('20.20.2'), /serve needs Node 24 LTS or newer, this is Node 20\.20\.2/);
  t.match(serveNodeProblem('22.19.0'), /Node 22\.19\.0/);
});
