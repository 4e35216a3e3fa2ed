import { promises as fs } from 'node:fs';
import { toWeight, type Weight } from '../../src/domain.ts';
import path from 'node:path';
import t from 'tap';
import { defaultAuditPath, FileStore } from '../../src/state/file-store.ts';
import { StateManager } from '../../src/state/manager.ts';
import { event, state, storeConformance } from './store-conformance.ts';

storeConformance(t, {
  name: 'file',
  location(t) {
    const file = path.join(t.testdir(), 'data', 'state.json');
    return { open: (options = {}) => new FileStore(file, options) };
  },
});

const readLines = async (file: string) =>
  (await fs.readFile(file, 'utf8')).split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as { version: number });

t.test('the file is replaced whole and leaves no temp files', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'state.json');
  const store = new FileStore(file);
  await store.load();
  await store.save(state(1), [event(1)]);
  const json = JSON.parse(await fs.readFile(file, 'utf8'));
  t.equal(json.format, 'turnout-state/1');
  t.same(json.state, state(1));
  t.same(json.events, [event(1)]);
  t.same(await fs.readdir(dir), ['state.json']);
  const mode = (await fs.stat(file)).mode & 0o777;
  t.equal(mode, 0o600, 'readable by the owner only');
});

t.test('a missing directory is created on the first save', async (t) => {
  const file = path.join(t.testdir(), 'a', 'b', 'state.json');
  const m = await StateManager.open({ store: new FileStore(file), seed: { active: 'blue', weight: 0 } });
  t.ok((await fs.stat(file)).isFile(), 'the seed is persisted at open');
  await m.close();
});

t.test('stale temp files from a crash are removed on load', async (t) => {
  const dir = t.testdir({ 'state.json': '', '.state.json.123.abcd.tmp': 'partial', 'other.tmp': 'not ours' });
  const store = new FileStore(path.join(dir, 'state.json'));
  await fs.rm(path.join(dir, 'state.json'));
  await store.load();
  await store.save(state(1), []);
  const again = new FileStore(path.join(dir, 'state.json'));
  await again.load();
  t.same((await fs.readdir(dir)).sort(), ['other.tmp', 'state.json']);
});

t.test('an unreadable or corrupt state file is an error naming the file', async (t) => {
  const good = JSON.stringify({ format: 'turnout-state/1', state: state(1), events: [event(1)] });
  const cases: [string, string, RegExp][] = [
    ['garbage', '{ this is not json', /not valid JSON/],
    ['empty', '', /not valid JSON/],
    ['truncated', good.slice(0, good.length / 2), /not valid JSON/],
    ['an array', '[]', /file must be an object/],
    ['no format', JSON.stringify({ state: state(1), events: [] }), /format must be/],
    ['bad colour', good.replace('"active":"blue"', '"active":"red"'), /state\.active must be blue or green/],
    ['bad weight', JSON.stringify({ format: 'turnout-state/1', state: state(1, { weight: 101 as Weight }), events: [] }), /state\.weight/],
    ['bad event', JSON.stringify({ format: 'turnout-state/1', state: state(1), events: [{ ...event(1), action: 'explode' }] }), /events\[0\]\.action/],
    ['events not an array', JSON.stringify({ format: 'turnout-state/1', state: state(1), events: {} }), /events must be an array/],
  ];
  for (const [name, text, reason] of cases) {
    const file = path.join(t.testdir(), 'state.json');
    await fs.writeFile(file, text);
    const err = await new FileStore(file).load().then(() => null, (e: unknown) => e as Error & { code: string });
    t.equal(err?.code, 'TURNOUT_ERR_STATE_UNREADABLE', `${name}: coded error`);
    t.ok(err?.message.includes(file), `${name}: names the file`);
    t.match(err?.message, reason, `${name}: says what is wrong`);
    await t.rejects(
      StateManager.open({ store: new FileStore(file), seed: { active: 'blue', weight: 0 } }),
      { code: 'TURNOUT_ERR_STATE_UNREADABLE' },
      `${name}: the manager refuses to open`,
    );
    t.equal(await fs.readFile(file, 'utf8'), text, `${name}: the file is left as it was`);
  }
  const dir = t.testdir({ 'state.json': {} });
  await t.rejects(new FileStore(path.join(dir, 'state.json')).load(), { code: 'TURNOUT_ERR_STATE_UNREADABLE', message: /state\.json/ }, 'a directory');
});

t.test('events rotated out of the bound go to the JSONL audit log, once each', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'state.json');
  const audit = defaultAuditPath(file);
  t.equal(audit, path.join(dir, 'state.audit.jsonl'));
  const store = new FileStore(file, { maxEvents: 3 });
  await store.load();
  for (let v = 1; v <= 5; v++) await store.save(state(v), [event(v)]);
  t.same((await readLines(audit)).map((e) => e.version), [1, 2]);
  t.same((await store.events(10)).map((e) => e.version), [5, 4, 3]);

  // A crash after appending to the audit log but before replacing the state file: the log
  // already holds events 3 and 4 (still in the state file) and ends in a torn line.
  await fs.appendFile(audit, JSON.stringify(event(3)) + '\n' + JSON.stringify(event(4)) + '\n{"at":"2026-01');
  const reopened = new FileStore(file, { maxEvents: 3 });
  await reopened.load();
  for (let v = 6; v <= 7; v++) await reopened.save(state(v), [event(v)]);
  const lines = (await fs.readFile(audit, 'utf8')).split('\n');
  t.ok(lines.includes('{"at":"2026-01'), 'the torn line stays on its own line');
  const versions = lines.flatMap((l) => {
    try {
      return [(JSON.parse(l) as { version: number }).version];
    } catch {
      return [];
    }
  });
  t.same(versions, [1, 2, 3, 4], 'no event duplicated, none lost');
  t.same((await reopened.events(10)).map((e) => e.version), [7, 6, 5]);
});

t.test('a failed write rejects, changes nothing in memory, and the next write works', async (t) => {
  const dir = t.testdir();
  const dataDir = path.join(dir, 'data');
  const file = path.join(dataDir, 'state.json');
  const m = await StateManager.open({ store: new FileStore(file), seed: { active: 'blue', weight: 0 } });
  await m.setWeight(10, { actor: 't' });
  const before = m.snapshot;
  // Replace the data directory with a plain file: every write fails (even as root).
  await fs.rm(dataDir, { recursive: true });
  await fs.writeFile(dataDir, 'in the way');
  await t.rejects(m.setWeight(20, { actor: 't' }), { code: 'TURNOUT_ERR_STATE_UNWRITABLE', message: /state\.json cannot be written/ });
  t.equal(m.snapshot, before, 'the snapshot did not move');
  t.equal(m.state.weight, 10);
  t.same((await m.events(10)).map((e) => e.version), [1], 'no event for the failed change');
  await fs.rm(dataDir);
  const s = await m.setWeight(30, { actor: 't' });
  t.equal(s.version, 2, 'the failed change used no version');
  await m.close();
  const again = await StateManager.open({ store: new FileStore(file), seed: { active: 'blue', weight: 0 } });
  t.equal(again.state.weight, 30);
  t.same((await again.events(10)).map((e) => e.version), [2, 1], 'every event since the seed, rewritten whole');
  await again.close();
});
