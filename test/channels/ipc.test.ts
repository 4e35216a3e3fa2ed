// The IPC transport over a real child process channel: a publish resolves once every attached
// data plane acked it, a dead one stops being waited for, a stuck one is reported lagging.
import { ZERO_WEIGHT } from '../../src/domain.ts';
import t from 'tap';
import { fork, type ChildProcess } from 'node:child_process';
import { IpcControlChannel } from '../../src/channels/ipc.ts';
import { snapshotOf } from '../../src/state/model.ts';
import type { TelemetryDelta } from '../../src/channels/types.ts';

const child = new URL('./ipc-child.ts', import.meta.url).pathname;

async function start(t: { teardown(fn: () => void): void }, id: string): Promise<ChildProcess> {
  const c = fork(child, [id], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  t.teardown(() => {
    if (c.exitCode === null) c.kill('SIGKILL');
  });
  await new Promise<void>((resolve) => c.once('message', () => resolve()));
  return c;
}

function ask(c: ChildProcess): Promise<{ seq: number; active: string }> {
  return new Promise((resolve) => {
    const on = (m: { a?: string; seq: number; active: string }) => {
      if (m.a !== 'routing') return;
      c.off('message', on);
      resolve(m);
    };
    c.on('message', on);
    c.send({ q: 'routing' });
  });
}

const message = (version: number, active: 'blue' | 'green') => ({ service: 'default', version, routing: snapshotOf({ version, active, weight: ZERO_WEIGHT }) });

t.test('publish resolves after every ack; each data plane already routes by it', async (t) => {
  const channel = new IpcControlChannel();
  const a = await start(t, 'w1');
  const b = await start(t, 'w2');
  await channel.publish(message(1, 'blue'));
  channel.attach('w1', a);
  channel.attach('w2', b);
  t.equal((await ask(a)).active, 'blue', 'a data plane attached later gets the latest snapshot');
  const c = await channel.publish(message(2, 'green'));
  t.same(c, { applied: 2, replicas: 2, lagging: [] });
  const [ra, rb] = await Promise.all([ask(a), ask(b)]);
  t.same([ra.active, rb.active], ['green', 'green'], 'both route by it once the publish resolved');
  t.same([...channel.acked().values()], [2, 2]);
});

t.test('a data plane that dies is not waited for; one that hangs is reported lagging', async (t) => {
  const channel = new IpcControlChannel();
  const a = await start(t, 'w1');
  const b = await start(t, 'w2');
  channel.attach('w1', a);
  channel.attach('w2', b);
  b.send({ q: 'hang' });
  await ask(b);
  const hung = await channel.publish(message(1, 'green'), 200);
  t.same(hung, { applied: 1, replicas: 2, lagging: ['w2'] });
  const pending = channel.publish(message(2, 'blue'));
  b.kill('SIGKILL');
  await new Promise((r) => b.once('exit', r));
  channel.detach('w2');
  t.same(await pending, { applied: 1, replicas: 2, lagging: ['w2'] }, 'resolves once the dead one is detached');
  t.equal(channel.size, 1);
});

t.test('telemetry deltas arrive through the envelope; detach tells onGone', async (t) => {
  const channel = new IpcControlChannel();
  const got: TelemetryDelta[] = [];
  const gone: string[] = [];
  channel.subscribe((d) => got.push(d));
  channel.onGone((id) => gone.push(id));
  const a = await start(t, 'w1');
  channel.attach('w1', a);
  a.send({ q: 'telemetry' });
  await new Promise<void>((resolve) => {
    const i = setInterval(() => got.length > 0 && (clearInterval(i), resolve()), 5);
  });
  t.equal(got[0]!.from, 'w1');
  channel.detach('w1');
  t.same(gone, ['w1']);
});
