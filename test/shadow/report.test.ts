// The shadow reports of workers (shadow/report.ts → channels → ShadowMerger → Shadower.absorb):
// differences since the last report, bounded, added exactly once on the control plane.
import t from 'tap';
import { ShadowReporter } from '../../src/shadow/report.ts';
import { ShadowStats, MAX_SAMPLES, type ShadowSample } from '../../src/shadow/stats.ts';
import { Noise } from '../../src/shadow/noise.ts';
import { Shadower } from '../../src/shadow/mirror.ts';
import { SHADOW_DEFAULTS } from '../../src/shadow/defaults.ts';
import { LocalTelemetry } from '../../src/channels/local.ts';
import { ShadowMerger } from '../../src/channels/merge.ts';
import type { ShadowDelta } from '../../src/channels/types.ts';

const sample = (path: string): ShadowSample => ({ at: '2026-01-01T00:00:00.000Z', method: 'GET', path, kinds: ['body'], first: '$.v', differences: [] });

t.test('a reporter sends what changed since its last report, and nothing for an idle second', async (t) => {
  const stats = new ShadowStats();
  const noise = new Noise();
  const reporter = new ShadowReporter(stats, noise);
  t.equal(reporter.take(), undefined, 'nothing yet');
  stats.count('match');
  stats.count('match');
  stats.mismatch(sample('/a'));
  stats.dropped += 3;
  noise.learn(['header:x-host', 'header:x-host', '$.t']);
  t.same(reporter.take(), {
    results: { match: 2, mismatch: 1, error: 0, aborted: 0 },
    byKind: { status: 0, headers: 0, body: 1 },
    dropped: 3,
    noise: [{ key: '$.t', seen: 1 }, { key: 'header:x-host', seen: 2 }],
    samples: [sample('/a')],
  });
  t.equal(reporter.take(), undefined, 'nothing changed since');
  stats.count('error');
  noise.learn(['$.t']);
  t.same(reporter.take(), { results: { match: 0, mismatch: 0, error: 1, aborted: 0 }, byKind: { status: 0, headers: 0, body: 0 }, dropped: 0, noise: [{ key: '$.t', seen: 1 }], samples: [] });
  for (let i = 0; i < 50; i++) stats.mismatch(sample(`/m${i}`));
  const burst = reporter.take()!;
  t.equal(burst.results.mismatch, 50, 'every mismatch counted');
  t.equal(burst.samples.length, MAX_SAMPLES, 'samples bounded');
  t.equal(burst.samples.at(-1)!.path, '/m49', 'the newest last');
});

t.test('the control plane adds each worker\'s reports once, in order, and keeps a dead worker\'s counts', async (t) => {
  const shadower = new Shadower({ config: SHADOW_DEFAULTS, targets: { blue: ['http://127.0.0.1:1'], green: ['http://127.0.0.1:2'] } });
  t.teardown(() => shadower.close());
  const channel = new LocalTelemetry();
  const merger = new ShadowMerger(shadower);
  channel.subscribeShadow((d) => merger.merge(d));
  channel.onGone((id) => merger.forget(id));
  const delta = (from: string, seq: number, match: number, mismatch: number, samples: ShadowSample[] = []): ShadowDelta => ({
    service: 'default', from, seq, results: { match, mismatch, error: 0, aborted: 0 }, byKind: { status: 0, headers: 0, body: mismatch }, dropped: 1, noise: [{ key: 'header:x-host', seen: match + mismatch }], samples,
  });
  channel.sendShadow(delta('w1', 1, 10, 1, [sample('/w1')]));
  channel.sendShadow(delta('w2', 1, 5, 2, [sample('/w2a'), sample('/w2b')]));
  channel.sendShadow(delta('w1', 1, 10, 1)); // a replay
  t.equal(merger.dropped, 1, 'a replayed report is not added twice');
  channel.gone('w1');
  channel.sendShadow(delta('w2', 2, 1, 0));
  const view = shadower.view(100);
  t.match(view, { compared: 19, mismatches: 3, byKind: { body: 3 }, dropped: 3, results: { match: 16, mismatch: 3 } }, 'w1\'s counts stay after it is gone');
  t.same(view.samples.map((s) => s.path), ['/w2b', '/w2a', '/w1'], 'newest first');
  t.same(view.noise, [{ key: 'header:x-host', seen: 19 }]);
});
