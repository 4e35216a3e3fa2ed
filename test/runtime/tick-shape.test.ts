// pinTickObjectShape(): one live TickObject keeps the hidden class of every nextTick queue entry
// through full GCs run while the queue is empty (why: src/runtime/tick-shape.ts). V8's shapes
// are only visible through its natives syntax, so the check runs in a child process with
// --allow-natives-syntax and --expose-gc; %HaveSameMap compares two objects' hidden classes.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { pinnedTickObject, pinTickObjectShape } from '../../src/runtime/tick-shape.ts';

const MODULE = pathToFileURL(resolve(import.meta.dirname, '../../src/runtime/tick-shape.ts')).href;

/** Runs `body` as an ES module in a child Node with V8's natives syntax and gc(); returns its JSON line. */
function inChild(body: string): Record<string, unknown> {
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--expose-gc', '--input-type=module', '-e', body], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

const CAPTURE = `
import { createHook } from 'node:async_hooks';
function nextTickEntry() {
  let entry;
  const hook = createHook({ init(_id, type, _trigger, resource) { if (type === 'TickObject' && entry === undefined) entry = resource; } }).enable();
  process.nextTick(() => {});
  hook.disable();
  return entry;
}
`;

t.test('holds one TickObject, once; ticks still run', async (t) => {
  pinTickObjectShape();
  const first = pinnedTickObject();
  t.ok(first, 'an entry is held');
  t.equal(typeof (first as { callback?: unknown }).callback, 'function', 'it is a nextTick queue entry');
  pinTickObjectShape();
  t.equal(pinnedTickObject(), first, 'a second call keeps the same one');
  const ran = await new Promise<boolean>((done) => process.nextTick(() => done(true)));
  t.ok(ran);
});

t.test('a queue entry made after full GCs on an empty queue has the pinned hidden class', async (t) => {
  const result = inChild(`${CAPTURE}
import { pinTickObjectShape, pinnedTickObject } from ${JSON.stringify(MODULE)};
pinTickObjectShape();
const pinned = pinnedTickObject();
await new Promise((done) => setImmediate(done)); // the tick queue is empty now
globalThis.gc();
globalThis.gc();
const later = nextTickEntry();
console.log(JSON.stringify({ captured: later !== undefined, sameShape: %HaveSameMap(later, pinned) }));
`);
  t.same(result, { captured: true, sameShape: true });
});
