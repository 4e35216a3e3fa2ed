// Tests that spawn `dist/cli.js` need a fresh build. `npm test` builds once up front and sets
// TURNOUT_TEST_BUILT; a test file run on its own builds for itself.
import { spawnSync } from 'node:child_process';

export function ensureBuilt(): void {
  if (process.env.TURNOUT_TEST_BUILT === '1') return;
  const build = spawnSync('npm', ['run', 'build', '--silent'], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build failed: ${build.stdout}${build.stderr}`);
  process.env.TURNOUT_TEST_BUILT = '1';
}
