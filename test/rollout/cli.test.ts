// `turnout rollout …` in-process (main(argv, io)) against a real admin server with a controller:
// what the user saw (exit code, output) and what the server then holds.
import t from 'tap';
import { main } from '../../src/cli.ts';
import { parseSteps } from '../../src/client/rollout-commands.ts';
import { adminWithRollouts } from './harness.ts';

const TOKEN = 'cli-rollout-token-0123456789';

async function server(t: { teardown(fn: () => unknown): void }) {
  const admin = await adminWithRollouts(t, TOKEN);
  const run = async (...argv: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await main(argv, {
      stdout: (s) => void (stdout += s),
      stderr: (s) => void (stderr += s),
      env: { TURNOUT_ADMIN_TOKEN: TOKEN },
    });
    return { code, stdout, stderr };
  };
  return { ...admin, run };
}

t.test('start, status, pause, resume, abort', async (t) => {
  const s = await server(t);
  const a = ['--admin', s.url];

  const none = await s.run('rollout', 'status', ...a);
  t.equal(none.code, 1);
  t.match(none.stderr, /404.*no rollout has run/);

  const started = await s.run(
    'rollout', 'start', '--steps', '5:30,25:60,100:60', '--max-error-rate', '0.02', '--max-p99-ms', '800',
    '--min-requests', '50', '--interval', '10', '--max-p99-ratio', '1.5', '--reason', 'release 42', '--actor', 'ci', ...a,
  );
  t.equal(started.code, 0, started.stderr);
  t.match(started.stdout, /^started rollout \w+: running, step 1\/3, green canary at 5% \(stable blue\)/);
  t.match(started.stdout, /steps +\[5% for 30s\] → 25% for 60s → 100% for 60s/);
  t.match(s.state.state, { weight: 5 });
  const events = await s.state.events(1);
  t.match(events[0], { action: 'rollout.start', actor: 'ci', reason: /release 42/ });

  s.advance(10);
  await s.rollouts.tick();
  const status = await s.run('rollout', 'status', ...a);
  t.equal(status.code, 0);
  t.match(status.stdout, /verdicts \(latest 1 of 1, oldest first\)\n.*step 1  pass +canary 0\/100 errors, p99 20ms · stable 0\/1000 errors, p99 20ms/);
  const json = await s.run('rollout', 'status', '--json', ...a);
  t.match(JSON.parse(json.stdout), { status: 'running', step: 0, analysis: [{ result: 'pass' }] });

  const paused = await s.run('rollout', 'pause', '--reason', 'lunch', ...a);
  t.equal(paused.code, 0);
  t.match(paused.stdout, /^paused rollout \w+: paused, step 1\/3/);
  t.match(paused.stdout, /reason +lunch/);
  t.match(await s.run('rollout', 'pause', ...a), { code: 1, stderr: /409.*already paused/ });
  t.match(await s.run('rollout', 'resume', ...a), { code: 0, stdout: /^resumed rollout \w+: running/ });
  t.match(await s.run('rollout', 'abort', '--reason', 'changed my mind', ...a), { code: 0, stdout: /^aborted rollout \w+: aborted.*\n[^]*reason +changed my mind/ });
  t.equal(s.state.state.weight, 0);
  t.match(await s.run('rollout', 'promote', ...a), { code: 1, stderr: /409/ });
});

t.test('promote skips the remaining steps', async (t) => {
  const s = await server(t);
  await s.run('rollout', 'start', '--steps', '10:60,50:60', '--admin', s.url);
  const promoted = await s.run('rollout', 'promote', '--admin', s.url);
  t.equal(promoted.code, 0);
  t.match(promoted.stdout, /promoted rollout \w+: promoted, step 1\/2, green canary at 100%/);
  t.equal(s.state.state.active, 'green');
});

t.test('bad arguments: usage errors (exit 2) locally, field errors (exit 1) from the server; nothing changes', async (t) => {
  const s = await server(t);
  const a = ['--admin', s.url];
  const cases: [string[], number, RegExp][] = [
    [['rollout', 'start', ...a], 2, /needs --steps/],
    [['rollout', 'start', '--steps', '5-30', ...a], 2, /step 1 \("5-30"\) must be WEIGHT:HOLD_SECONDS/],
    [['rollout', 'start', '--steps', '5:x', ...a], 2, /step 1 hold must be a number/],
    [['rollout', 'start', '--steps', '5:30', '--max-error-rate', 'lots', ...a], 2, /--max-error-rate must be a number/],
    [['rollout', 'start', '--steps', '5:30', '--bogus', '1', ...a], 2, /bogus/],
    [['rollout', 'launch', ...a], 2, /unknown rollout command "launch"/],
    [['rollout', 'start', '--steps', '25:30,5:30', ...a], 1, /400.*body\.steps\[1\]\.weight must be greater/],
    [['rollout', 'start', '--steps', '5:30', '--max-error-rate', '2', ...a], 1, /400.*body\.analysis\.maxErrorRate must be <= 1/],
    [['rollout', 'start', '--steps', '5:-1', ...a], 1, /400.*body\.steps\[0\]\.holdSeconds must be >= 0/],
  ];
  for (const [argv, code, stderr] of cases) {
    const r = await s.run(...argv);
    t.equal(r.code, code, argv.join(' '));
    t.match(r.stderr, stderr, argv.join(' '));
  }
  t.equal(s.state.state.version, 0);
  const help = await s.run('rollout', '--help');
  t.equal(help.code, 0);
  t.match(help.stdout, /--max-p99-ratio X/);
  t.equal((await s.run('rollout')).code, 2);
});

t.test('parseSteps', async (t) => {
  t.same(parseSteps('5:30,25:60,100:60'), [
    { weight: 5, holdSeconds: 30 },
    { weight: 25, holdSeconds: 60 },
    { weight: 100, holdSeconds: 60 },
  ]);
  t.same(parseSteps(' 0.5:0 , 1.25:10'), [
    { weight: 0.5, holdSeconds: 0 },
    { weight: 1.25, holdSeconds: 10 },
  ]);
  t.throws(() => parseSteps('5:30,'), /--steps must be/);
});
