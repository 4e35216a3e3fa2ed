// Runs the whole tap suite with the TAP reporter, passes its output through, and ends with the
// one line CI reads: "N passed, M failed". Extra arguments select test files.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const args = ['tap', '--reporter=tap', ...process.argv.slice(2)];
const child = spawn('npx', args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' } });

let summary = null;
let topPass = 0;
let topFail = 0;
const lines = createInterface({ input: child.stdout });
lines.on('line', (line) => {
  process.stdout.write(line + '\n');
  // tap's closing comment: "# { total: 17, pass: 17 }" or "# { total: 5, pass: 3, fail: 2 }"
  const m = /^# \{ total: (\d+)(?:, pass: (\d+))?(?:, fail: (\d+))?/.exec(line);
  if (m) summary = { total: Number(m[1]), pass: Number(m[2] ?? 0), fail: Number(m[3] ?? 0) };
  // Top-level points are test files; used when a crash leaves no summary.
  if (/^ok \d+/.test(line)) topPass++;
  else if (/^not ok \d+/.test(line)) topFail++;
});

child.on('close', (code) => {
  let passed = summary ? summary.pass : topPass;
  let failed = summary ? summary.total - summary.pass : topFail;
  if (code !== 0 && failed === 0) failed = 1; // the runner itself failed: never report green
  process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
  process.exit(code === 0 && failed === 0 ? 0 : 1);
});
