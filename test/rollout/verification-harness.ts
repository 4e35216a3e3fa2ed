// A VerificationController (and a RolloutController that promotes through it) over a real
// StateManager on a memory store, a manual clock and windows the test sets: no timers, no
// sleeping. `at(seconds)` moves the clock to T0 + seconds and ticks the verifier.
import { RolloutController } from '../../src/rollout/controller.ts';
import { VerificationController } from '../../src/rollout/verification.ts';
import { StateManager } from '../../src/state/manager.ts';
import { createMemoryStorage, MemoryStore, type MemoryStorage } from '../../src/state/memory-store.ts';
import type { AuditEvent, VerifySettings } from '../../src/state/model.ts';
import { FakeWindows, T0 } from './harness.ts';

export { FakeWindows, T0 };

export async function verifier(
  t: { teardown(fn: () => unknown): void },
  options: { storage?: MemoryStorage; startAt?: number; windows?: FakeWindows; defaults?: Partial<VerifySettings> | null } = {},
) {
  let now = T0 + (options.startAt ?? 0) * 1000;
  const clock = { now: () => now };
  const storage = options.storage ?? createMemoryStorage();
  const state = await StateManager.open({ store: new MemoryStore({ storage }), seed: { active: 'blue', weight: 0 }, clock });
  const windows = options.windows ?? new FakeWindows();
  let n = 0;
  const verification = new VerificationController({ state, windows, clock, defaults: options.defaults ?? null, newId: () => `v${++n}` });
  const rollouts = new RolloutController({ state, windows, clock, newId: () => `r${n}`, decoratePromotion: (b, p) => verification.decoratePromotion(b, p) });
  const events: AuditEvent[] = [];
  state.onChange((_s, e) => events.push(e));
  // start() as app.ts does, minus the production timer (stopped at once; the test ticks).
  verification.start();
  verification.stop();
  t.teardown(async () => {
    verification.stop();
    rollouts.stop();
    await state.close();
  });
  return {
    state,
    windows,
    verification,
    rollouts,
    storage,
    events,
    clock,
    async at(seconds: number) {
      now = T0 + seconds * 1000;
      await verification.tick();
    },
  };
}

export const admin = { actor: 'admin' };
