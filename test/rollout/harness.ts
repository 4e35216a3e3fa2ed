// A controller over a real StateManager (memory store), a manual clock and windows the test sets:
// no timers, no sleeping. `at(seconds)` moves the clock to start + seconds and ticks.
import { buildAdminServer } from '../../src/admin/server.ts';
import type { Colour } from '../../src/domain.ts';
import { RolloutController } from '../../src/rollout/controller.ts';
import type { WindowSource } from '../../src/rollout/types.ts';
import { StateManager } from '../../src/state/manager.ts';
import { createMemoryStorage, MemoryStore, type MemoryStorage } from '../../src/state/memory-store.ts';
import type { AuditEvent } from '../../src/state/model.ts';

export const T0 = Date.parse('2026-01-01T00:00:00.000Z');

export interface Sample {
  requests: number;
  errors: number;
  p99: number;
}

export class FakeWindows implements WindowSource {
  samples: Record<Colour, Sample> = { blue: { requests: 1000, errors: 0, p99: 20 }, green: { requests: 100, errors: 0, p99: 20 } };
  calls: { colour: Colour; spanSeconds: number | undefined }[] = [];
  colourSummary(colour: Colour, spanSeconds?: number) {
    this.calls.push({ colour, spanSeconds });
    const s = this.samples[colour];
    return { requests: s.requests, errors: s.errors, latencyMs: { p99: s.p99 } };
  }
  set(colour: Colour, s: Partial<Sample>): void {
    this.samples[colour] = { ...this.samples[colour], ...s };
  }
}

export interface Harness {
  clock: { now(): number; set(ms: number): void };
  state: StateManager;
  windows: FakeWindows;
  controller: RolloutController;
  storage: MemoryStorage;
  events: AuditEvent[];
  /** Moves the clock to T0 + seconds, then ticks once. */
  at(seconds: number): Promise<void>;
}

export async function harness(
  t: { teardown(fn: () => unknown): void },
  options: { storage?: MemoryStorage; startAt?: number; windows?: FakeWindows } = {},
): Promise<Harness> {
  let now = T0 + (options.startAt ?? 0) * 1000;
  const clock = { now: () => now, set: (ms: number) => void (now = ms) };
  const storage = options.storage ?? createMemoryStorage();
  const state = await StateManager.open({ store: new MemoryStore({ storage }), seed: { active: 'blue', weight: 0 }, clock });
  const windows = options.windows ?? new FakeWindows();
  let n = 0;
  const controller = new RolloutController({ state, windows, clock, newId: () => `r${++n}` });
  const events: AuditEvent[] = [];
  state.onChange((_s, e) => events.push(e));
  t.teardown(async () => {
    controller.stop();
    await state.close();
  });
  return {
    clock,
    state,
    windows,
    controller,
    storage,
    events,
    async at(seconds: number) {
      now = T0 + seconds * 1000;
      await controller.tick();
    },
  };
}

export const admin = { actor: 'admin' };

/** steps "5:30,25:60" → body steps. */
export function steps(spec: string): { weight: number; holdSeconds: number }[] {
  return spec.split(',').map((s) => {
    const [w, h] = s.split(':').map(Number);
    return { weight: w!, holdSeconds: h! };
  });
}

/**
 * A real admin server with a rollout controller over a memory store, on 127.0.0.1:0, and a
 * manual clock (`advance(seconds)`); the controller is ticked by the test.
 */
export async function adminWithRollouts(t: { teardown(fn: () => unknown): void }, token: string) {
  let now = T0;
  const clock = { now: () => now };
  const state = await StateManager.open({ store: new MemoryStore(), seed: { active: 'blue', weight: 0 }, clock });
  const windows = new FakeWindows();
  const rollouts = new RolloutController({ state, windows, clock });
  const app = await buildAdminServer({ token, state, isReady: () => true, rollouts });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(async () => {
    rollouts.stop();
    await app.close();
    await state.close();
  });
  return { url, state, windows, rollouts, advance: (seconds: number) => void (now += seconds * 1000) };
}
