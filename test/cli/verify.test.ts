// `turnout flip --verify SECONDS` and `turnout status` (CONTRACT §11), in process through main(),
// against a real admin server with a VerificationController on a manual clock.
import t from 'tap';
import { buildAdminServer } from '../../src/admin/server.ts';
import { main } from '../../src/cli.ts';
import { VerificationController } from '../../src/rollout/verification.ts';
import { StateManager } from '../../src/state/manager.ts';
import { MemoryStore } from '../../src/state/memory-store.ts';
import { FakeWindows, T0 } from '../rollout/harness.ts';

const TOKEN = 'test-token-0123456789';

async function server(t: { teardown(fn: () => unknown): void }) {
  let now = T0;
  const clock = { now: () => now };
  const state = await StateManager.open({ store: new MemoryStore(), seed: { active: 'blue', weight: 0 }, clock });
  const windows = new FakeWindows();
  const verification = new VerificationController({ state, windows, clock, defaults: { seconds: 60, intervalSeconds: 5, minRequests: 20 }, newId: () => 'v1' });
  const app = await buildAdminServer({ token: TOKEN, state, isReady: () => true, verification });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(async () => {
    await app.close();
    await state.close();
  });
  return { url, state, windows, verification, at: async (s: number) => ((now = T0 + s * 1000), verification.tick()) };
}

async function run(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), env: { TURNOUT_ADMIN_TOKEN: TOKEN } });
  return { code, stdout, stderr };
}

t.test('flip --verify, status while running, status --json once verified', async (t) => {
  const s = await server(t);
  const at = ['--admin', s.url];
  const flip = await run(['flip', '--verify', '10', '--reason', 'release 7', ...at]);
  t.equal(flip.code, 0, flip.stderr);
  t.equal(flip.stdout, 'flipped: green is active, blue idle at 0%; verifying until 2026-01-01T00:00:10.000Z (10s) (version 1)\n');
  t.match(s.state.state.verification, { settings: { seconds: 10, intervalSeconds: 5, minRequests: 20 } }, '--verify sets seconds; the rest from routing.verify');

  await s.at(5);
  const status = await run(['status', ...at]);
  t.equal(status.code, 0, status.stderr);
  t.match(status.stdout, /^idle +blue since 2026-01-01T00:00:00\.000Z, not free$/m);
  t.match(status.stdout, /^verify +running: green until 2026-01-01T00:00:10\.000Z \(5s left\), 1 verdicts; last verdict pass$/m);

  await s.at(10);
  const json = await run(['status', '--json', ...at]);
  const view = JSON.parse(json.stdout);
  t.match(view, { active: 'green', idle: { colour: 'blue', free: true }, verification: { status: 'verified', colour: 'green' } });
  t.match((await run(['status', ...at])).stdout, /^idle +blue since .*, free \(verified: may be redeployed\)$/m);
});

t.test('--verify 0 flips without a period despite routing.verify; bad values are usage errors', async (t) => {
  const s = await server(t);
  const at = ['--admin', s.url];
  const flip = await run(['flip', '--verify', '0', '--json', ...at]);
  t.equal(flip.code, 0, flip.stderr);
  t.match(JSON.parse(flip.stdout), { active: 'green', verification: null, idle: { free: false } });
  const bad = await run(['flip', '--verify', 'soon', ...at]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /^turnout flip: --verify must be a whole number of seconds, got soon/);
  t.equal(s.state.state.version, 1, 'nothing changed');
  t.match((await run(['status', ...at])).stdout, /^verify +none$/m);
  t.match((await run(['flip', '--help'])).stdout, /--verify SECONDS/);
});
