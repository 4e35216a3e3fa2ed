// Durability against a crash: a child process acknowledges changes on a file store and is
// SIGKILLed mid-stream. Reopening must show every acknowledged change (and a whole, readable
// file: never a torn one).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { FileStore } from '../../src/state/file-store.ts';
import { StateManager } from '../../src/state/manager.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const node = path.resolve(here, '../../node_modules/.bin/node');

function runChildUntil(file: string, acks: number): Promise<{ version: number; active: string; weight: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [path.join(here, 'fixtures', 'sigkill-child.ts'), file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let last: { version: number; active: string; weight: number } | null = null;
    let seen = 0;
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^ack (\d+) (\w+) ([\d.]+)$/.exec(line);
      if (!m) return;
      last = { version: Number(m[1]), active: m[2] ?? '', weight: Number(m[3]) };
      if (++seen === acks) child.kill('SIGKILL');
    });
    child.on('exit', (_code, signal) => {
      if (signal === 'SIGKILL' && last) resolve(last);
      else reject(new Error(`child ended without being killed: ${stderr}`));
    });
  });
}

t.test('every acknowledged change survives SIGKILL', async (t) => {
  const file = path.join(t.testdir(), 'state.json');
  for (const [round, acks] of [[1, 5], [2, 40]] as const) {
    const last = await runChildUntil(file, acks);
    const m = await StateManager.open({ store: new FileStore(file, { maxEvents: 50 }), seed: { active: 'green', weight: 99 } });
    // The child may have committed one more change after its last ack before it died, never fewer.
    t.ok(m.state.version === last.version || m.state.version === last.version + 1, `round ${round}: version ${m.state.version} ≥ acked ${last.version}`);
    if (m.state.version === last.version) t.match(m.state, { active: last.active, weight: last.weight }, `round ${round}: the acked state`);
    const events = await m.events(1000);
    t.equal(events[0]?.version, m.state.version, `round ${round}: the newest event is the state's`);
    t.same(
      events.map((e) => e.version),
      Array.from({ length: events.length }, (_, i) => m.state.version - i),
      `round ${round}: no gap in the events`,
    );
    await m.close();
  }
});
