// One conformance suite for every transport of the down channel (DESIGN.md example 9): local
// (in-process), ipc (workers), and — issue 14 — redis. A transport provides a publisher and a way
// to add a data plane and ask what it routes by now.
import { ZERO_WEIGHT } from '../../src/domain.ts';
import type { Test } from 'tap';
import type { SnapshotPublisher } from '../../src/channels/types.ts';
import { snapshotOf } from '../../src/state/model.ts';

export interface DataPlaneProbe {
  /** The seq and active colour this data plane routes by now. */
  routing(): Promise<{ seq: number; active: string | undefined }>;
}

export interface SnapshotTransport {
  readonly publisher: SnapshotPublisher;
  addDataPlane(id: string): Promise<DataPlaneProbe>;
}


const message = (version: number, active: 'blue' | 'green') => ({ service: 'default', version, routing: snapshotOf({ version, active, weight: ZERO_WEIGHT }) });

export function snapshotChannelConformance(t: Test, name: string, make: (t: Test) => Promise<SnapshotTransport>): void {
  t.test(`${name}: publish resolves once every data plane routes by the message`, async (t) => {
    const transport = await make(t);
    const planes = [await transport.addDataPlane('w1'), await transport.addDataPlane('w2')];
    for (let v = 1; v <= 5; v++) {
      const c = await transport.publisher.publish(message(v, v % 2 === 0 ? 'blue' : 'green'));
      t.same(c, { applied: 2, replicas: 2, lagging: [] }, `v${v} applied by both`);
      for (const p of planes) t.equal((await p.routing()).active, v % 2 === 0 ? 'blue' : 'green');
    }
  });
  t.test(`${name}: a data plane that joins later starts from the latest message`, async (t) => {
    const transport = await make(t);
    await transport.publisher.publish(message(1, 'green'));
    await transport.publisher.publish(message(2, 'blue'));
    const late = await transport.addDataPlane('w9');
    const r = await late.routing();
    t.equal(r.active, 'blue');
    t.equal(r.seq, transport.publisher.latest('default')!.seq);
  });
  t.test(`${name}: seq grows with every publish, also when the version does not move`, async (t) => {
    const transport = await make(t);
    await transport.publisher.publish(message(3, 'blue'));
    const first = transport.publisher.latest('default')!.seq;
    await transport.publisher.publish(message(3, 'blue'));
    t.ok(transport.publisher.latest('default')!.seq > first);
    t.equal(transport.publisher.latest('other'), undefined, 'keyed by service');
  });
}
