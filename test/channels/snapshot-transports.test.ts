// The down-channel conformance suite against the local and IPC transports.
import t from 'tap';
import { fork } from 'node:child_process';
import { LocalSnapshotChannel } from '../../src/channels/local.ts';
import { IpcControlChannel } from '../../src/channels/ipc.ts';
import type { SnapshotMessage } from '../../src/channels/types.ts';
import { snapshotChannelConformance } from './snapshot-conformance.ts';

snapshotChannelConformance(t, 'local', async () => {
  const channel = new LocalSnapshotChannel();
  return {
    publisher: channel,
    async addDataPlane() {
      let current: SnapshotMessage | undefined;
      channel.subscribe((m) => (current = m));
      return { routing: async () => ({ seq: current?.seq ?? 0, active: current?.routing.active }) };
    },
  };
});

snapshotChannelConformance(t, 'ipc', async (t) => {
  const channel = new IpcControlChannel();
  return {
    publisher: channel,
    async addDataPlane(id) {
      const child = fork(new URL('./ipc-child.ts', import.meta.url).pathname, [id], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      t.teardown(() => {
        if (child.exitCode === null) child.kill('SIGKILL');
      });
      await new Promise<void>((resolve) => child.once('message', () => resolve()));
      channel.attach(id, child);
      return {
        routing: () =>
          new Promise((resolve) => {
            const on = (m: { a?: string; seq: number; active: string }) => {
              if (m.a !== 'routing') return;
              child.off('message', on);
              resolve({ seq: m.seq, active: m.active });
            };
            child.on('message', on);
            child.send({ q: 'routing' });
          }),
      };
    },
  };
});
