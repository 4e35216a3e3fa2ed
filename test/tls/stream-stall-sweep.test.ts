// StreamStallSweep (src/tls/slow-clients.ts), the pure part: plain objects for streams, a time
// passed in. A stream is reset once its buffered output has not shrunk for sendMs; one that
// drained, closed or keeps shrinking is left alone (and a drained or closed one leaves the sweep).
import t from 'tap';
import { constants } from 'node:http2';
import { StreamStallSweep, type SweptStream } from '../../src/tls/slow-clients.ts';

function fakeStream(length: number) {
  const s = { writableNeedDrain: true, writableLength: length, destroyed: false, closedWith: -1, close(code: number) { s.closedWith = code; }, destroy() { s.destroyed = true; } };
  return s satisfies SweptStream;
}

t.test('a stream whose buffer does not shrink for sendMs is reset with CANCEL and torn down', async (t) => {
  const table: { name: string; steps: [number, (s: ReturnType<typeof fakeStream>) => void][]; reset: boolean; left: number }[] = [
    { name: 'stalled the whole time', steps: [[100, () => {}], [300, () => {}]], reset: true, left: 0 },
    { name: 'not yet sendMs', steps: [[100, () => {}], [299, () => {}]], reset: false, left: 1 },
    { name: 'shrinking: the client reads', steps: [[200, (s) => (s.writableLength -= 10)], [400, (s) => (s.writableLength -= 10)], [550, () => {}]], reset: false, left: 1 },
    { name: 'shrank once, then stalled for sendMs after that', steps: [[200, (s) => (s.writableLength -= 10)], [500, () => {}]], reset: true, left: 0 },
    { name: 'drained: leaves the sweep', steps: [[100, (s) => (s.writableNeedDrain = false)], [400, () => {}]], reset: false, left: 0 },
    { name: 'closed meanwhile: leaves the sweep', steps: [[100, (s) => (s.destroyed = true)]], reset: false, left: 0 },
  ];
  for (const row of table) {
    const sweep = new StreamStallSweep(300);
    const stream = fakeStream(1000);
    sweep.add(stream, 0);
    sweep.add(stream, 250); // a second backpressured write does not restart the clock
    for (const [now, change] of row.steps) {
      change(stream);
      sweep.sweep(now);
    }
    t.equal(stream.closedWith === constants.NGHTTP2_CANCEL, row.reset, `${row.name}: ${row.reset ? 'reset' : 'left alone'}`);
    t.equal(sweep.destroyed, row.reset ? 1 : 0, `${row.name}: counted`);
    t.equal(sweep.size, row.left, `${row.name}: ${row.left} left in the sweep`);
  }
});
