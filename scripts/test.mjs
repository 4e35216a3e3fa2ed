// Runs the whole tap suite with the TAP reporter, passes its output through, and ends with the
// one line CI reads: "N passed, M failed, K skipped". Extra arguments select test files.
// A skip is a test whose tool is not installed (test/helpers/tools.ts names it and the Debian
// package); with CI=true such a test fails instead.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const args = ['tap', '--reporter=tap', ...process.argv.slice(2)];
const child = spawn('npx', args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' } });

let summary = null;
let topPass = 0;
let topFail = 0;
/** The reasons of skipped points, to list them again at the end. */
const skips = new Map();
const lines = createInterface({ input: child.stdout });
lines.on('line', (line) => {
  process.stdout.write(line + '\n');
  // tap's closing comment: "# { total: 17, pass: 17 }" or "# { total: 9, pass: 5, fail: 2, skip: 1, todo: 1 }"
  const m = /^# \{ (total: \d+.*) \}$/.exec(line);
  if (m) {
    const counts = Object.fromEntries(m[1].split(', ').map((kv) => kv.split(': ')).map(([k, v]) => [k, Number(v)]));
    summary = { total: counts.total ?? 0, pass: counts.pass ?? 0, fail: counts.fail ?? 0, skip: counts.skip ?? 0, todo: counts.todo ?? 0 };
  }
  const skip = /^\s*(?:not )?ok \d+ - .*# SKIP (skipped: .*)$/.exec(line);
  if (skip) skips.set(skip[1], (skips.get(skip[1]) ?? 0) + 1);
  // Top-level points are test files; used when a crash leaves no summary.
  if (/^ok \d+/.test(line)) topPass++;
  else if (/^not ok \d+/.test(line)) topFail++;
});

child.on('close', (code) => {
  const passed = summary ? summary.pass : topPass;
  // Anything neither passed, skipped nor todo failed (tap counts a crashed file as a failure).
  let failed = summary ? summary.total - summary.pass - summary.skip - summary.todo : topFail;
  const skipped = summary ? summary.skip + summary.todo : 0;
  if (code !== 0 && failed === 0) failed = 1; // the runner itself failed: never report green
  if (skips.size > 0) {
    process.stdout.write('\nSkipped (install the package to run them; with CI=true they fail):\n');
    for (const [reason, n] of skips) process.stdout.write(`  ${reason}${n > 1 ? ` (${n}×)` : ''}\n`);
  }
  process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  process.exit(code === 0 && failed === 0 ? 0 : 1);
});
