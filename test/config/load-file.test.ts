import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { ConfigError, loadConfigFile, parseConfig } from '../../src/config/load.ts';
import { configSchema } from '../../src/config/schema.ts';
import { fieldDocs, leafPaths } from '../../src/schema/docs.ts';

const TOKEN = 'a-token-of-20-chars!';
const env = { TURNOUT_ADMIN_TOKEN: TOKEN };
const root = new URL('../../', import.meta.url);

function write(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const yamlText = `
listen: { port: 8088 }
admin:
  token: "\${TURNOUT_ADMIN_TOKEN}"
upstreams:
  blue:  { targets: ["http://10.0.0.1:3000"] }
  green: { targets: ["http://10.0.1.1:3000"] }
routing:
  canaryWeight: 2.5
  sticky: { by: header, header: X-User }
`;

t.test('YAML and JSON files load to the same config', async (t) => {
  const dir = t.testdir();
  const fromYaml = loadConfigFile(write(dir, 'turnout.yaml', yamlText), env);
  const fromYml = loadConfigFile(write(dir, 'turnout.yml', yamlText), env);
  const json = JSON.stringify(YAML.parse(yamlText));
  const fromJson = loadConfigFile(write(dir, 'turnout.json', json), env);
  const fromConf = loadConfigFile(write(dir, 'turnout.conf', json), env); // any other extension: YAML, which parses JSON
  t.equal(fromYaml.listen.port, 8088);
  t.equal(fromYaml.routing.canaryWeight, 2.5);
  t.equal(fromYaml.routing.sticky.header, 'x-user');
  t.equal(fromYaml.admin.token, TOKEN);
  t.equal(fromYaml.timeouts.responseMs, 30000, 'defaults applied');
  for (const other of [fromYml, fromJson, fromConf]) t.strictSame(other, fromYaml);
  t.ok(Object.isFrozen(fromJson.upstreams.green.targets));
});

t.test('YAML 1.2: yes/on are strings, so strict types reject them', async (t) => {
  const dir = t.testdir();
  const file = write(dir, 'c.yaml', `${yamlText}\n  exposeColourHeader: yes\n`);
  const e = configError(() => loadConfigFile(file, env));
  t.strictSame(e.issues, [{ path: 'routing.exposeColourHeader', message: 'must be true or false, got string "yes"' }]);
});

t.test('file-level failures name the file (and the line for YAML)', async (t) => {
  const dir = t.testdir();
  const table: [string, string, RegExp, RegExp][] = [
    ['dup.yaml', 'listen: { port: 1 }\nlisten: { port: 2 }\n', /: invalid YAML$/, /^line 2, column 1: Map keys must be unique$/],
    ['bad.yaml', 'upstreams:\n  blue: { targets: [http://x\n  green: 1\n', /: invalid YAML$/, /^line \d+, column \d+: /],
    ['tabs.yaml', 'admin:\n\ttoken: x\n', /: invalid YAML$/, /^line 2, column 1: /],
    ['multi.yaml', 'a: 1\n---\nb: 2\n', /: invalid YAML$/, /^line 2, column 1: Source contains multiple documents/],
    ['bad.json', '{ "listen": { "port": 1, } }', /: invalid JSON$/, /JSON/],
  ];
  for (const [name, text, headline, issue] of table) {
    const file = write(dir, name, text);
    const e = configError(() => loadConfigFile(file, env));
    t.equal(e.file, file, name);
    t.equal(e.code, 'TURNOUT_ERR_CONFIG');
    const [first, second] = e.message.split('\n');
    t.ok(first?.startsWith(`${file}: `), `${name}: message starts with the file`);
    t.match(first, headline, name);
    t.match(e.issues[0]?.message, issue, name);
    t.equal(second, `  ${e.issues[0]?.message}`, `${name}: issue on its own line`);
  }

  const missing = join(dir, 'nope.yaml');
  const e = configError(() => loadConfigFile(missing, env));
  t.equal(e.message.split('\n')[0], `${missing}: cannot read the config file`);
  t.match(e.issues[0]?.message, /ENOENT/);
  t.ok(e.cause, 'keeps the cause');
  t.match(configError(() => loadConfigFile(dir, env)).message, /cannot read the config file\n {2}EISDIR/);
});

t.test('an empty file reports what is required; validation errors name the file', async (t) => {
  const dir = t.testdir();
  const empty = write(dir, 'empty.yaml', '# nothing yet\n');
  const e = configError(() => loadConfigFile(empty, env));
  t.equal(e.message.split('\n')[0], `${empty}: invalid configuration`);
  t.strictSame(e.issues.map((i) => i.path), ['admin.token', 'upstreams']);

  const typo = write(dir, 'typo.yaml', yamlText.replace('blue:', 'bleu:'));
  const e2 = configError(() => loadConfigFile(typo, env));
  t.match(e2.message, `${typo}: invalid configuration\n  upstreams.bleu: unknown field (did you mean "blue"?)\n  upstreams.blue: required`);
});

t.test('an unset variable in a file names the variable and the field', async (t) => {
  const dir = t.testdir();
  const file = write(dir, 'c.yaml', yamlText);
  const e = configError(() => loadConfigFile(file, {}));
  t.strictSame(e.issues, [{ path: 'admin.token', message: 'environment variable TURNOUT_ADMIN_TOKEN is not set' }]);
});

t.test('config/turnout.example.yaml loads and sets every field', async (t) => {
  const file = new URL('config/turnout.example.yaml', root).pathname;
  const config = loadConfigFile(file, env);
  t.equal(config.admin.token, TOKEN);
  t.not(config.preview, null);
  // Every field but state.url (only for redis) and routing.verify (off by default) is set explicitly.
  const raw = YAML.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const get = (path: string) => path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], raw);
  for (const path of leafPaths(configSchema)) {
    if (path === 'state.url') t.match(readFileSync(file, 'utf8'), /# url: redis:\/\//, 'state.url shown commented out');
    // routing.verify defaults to null (flips without a period): the example shows it commented out.
    else if (path.startsWith('routing.verify.')) t.match(readFileSync(file, 'utf8'), new RegExp(`#\\s+${path.split('.').at(-1)}: `), `${path} shown commented out`);
    else if (/^(listen|admin|preview)\.tls\./.test(path)) t.match(readFileSync(file, 'utf8'), new RegExp(`# ${path.split('.')[0]}\\.tls: `), `${path} shown commented out (needs certificate files)`);
    else t.not(get(path), undefined, `example sets ${path}`);
  }
  // The values it spells out are the defaults (apart from the required fields, the preview, and
  // `workers: auto`, which the example recommends while the default stays one process).
  t.equal(config.workers, 'auto', 'the example runs one worker per CPU');
  const defaults = parseConfig({ admin: { token: TOKEN }, upstreams: raw.upstreams, preview: {}, workers: 'auto' }, 'defaults', {});
  t.strictSame(config, defaults, 'example values equal the defaults');
});

t.test('docs/configuration.md documents every field', async (t) => {
  const docs = readFileSync(new URL('docs/configuration.md', root), 'utf8');
  const documented = new Set([...docs.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]));
  const fields = leafPaths(configSchema);
  for (const path of fields) t.ok(documented.has(path), `docs table has ${path}`);
  for (const path of documented) t.ok(path === 'preview' || path === 'routing.verify' || fields.includes(path ?? ''), `docs field ${path} exists in the schema`);
  // The default column says what the schema's default is (or that the field is required).
  const rows = docs.split('\n').filter((line) => line.startsWith('| `')).map((line) => line.split(/(?<!\\)\|/).map((cell) => cell.trim()));
  const cells = new Map(rows.map((cells) => [cells[1]?.replace(/^`|`$/g, ''), cells[3] ?? '']));
  for (const field of fieldDocs(configSchema)) {
    const cell = cells.get(field.path) ?? '';
    if (field.required) t.match(cell, /\*\*required\*\*/, `docs: ${field.path} is required`);
    else if (field.default !== undefined) t.ok(cell.startsWith(`\`${field.default}\``), `docs: ${field.path} defaults to \`${field.default}\``, { cell });
  }
});
