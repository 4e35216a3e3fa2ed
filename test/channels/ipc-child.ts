// A data plane stand-in for ipc.test.ts: applies snapshots through the real IPC data-plane end,
// and on `{ q: 'routing' }` answers what it routes by now. `{ q: 'hang' }` stops acking (a stuck worker).
import { IpcDataPlaneChannel, type IpcEndpoint } from '../../src/channels/ipc.ts';
import type { SnapshotMessage } from '../../src/channels/types.ts';

let hang = false;
let current: SnapshotMessage | undefined;
const endpoint: IpcEndpoint = {
  send: (m) => (hang ? true : process.send!(m)),
  on: (event, listener) => process.on(event, listener),
};
const channel = new IpcDataPlaneChannel(endpoint, process.argv[2] ?? 'w?');
channel.subscribe((m) => (current = m));
process.on('message', (m: { q?: string }) => {
  if (m.q === 'routing') process.send!({ a: 'routing', seq: current?.seq ?? 0, active: current?.routing.active });
  if (m.q === 'hang') hang = true;
  if (m.q === 'telemetry') channel.send({ service: 'default', from: process.argv[2]!, second: 1, seq: 1, cells: [], targets: [] });
});
process.send!({ a: 'hello' });
