// Tests that need a program npm cannot provide (promtool, redis-server, nginx, wrk, openssl,
// nghttp, curl, slowhttptest, podman, chromium) find it here. When it is missing the test is
// skipped with `skipped: <tool> not installed (apt-get install <package>)`, so `npm ci && npm test`
// passes on a machine with only Node and npm and says what it left out; with CI=true a missing
// tool fails instead, because .ci/run installs every one of them.
//
// TURNOUT_TEST_HIDE_TOOLS=promtool,chromium makes those tools look missing, to check this wiring
// on a machine that has them.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';

/** The Debian package that ships each tool (what `.ci/run` installs). */
export const DEBIAN_PACKAGE: Readonly<Record<string, string>> = Object.freeze({
  promtool: 'prometheus',
  'redis-server': 'redis-server',
  nginx: 'nginx-light',
  wrk: 'wrk',
  openssl: 'openssl',
  nghttp: 'nghttp2-client',
  nghttpd: 'nghttp2-server',
  curl: 'curl',
  slowhttptest: 'slowhttptest',
  podman: 'podman',
  chromium: 'chromium',
});

// nginx lives in /usr/sbin, which a non-root PATH often lacks.
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

function hidden(env: NodeJS.ProcessEnv = process.env): Set<string> {
  return new Set((env.TURNOUT_TEST_HIDE_TOOLS ?? '').split(',').map((s) => s.trim()).filter(Boolean));
}

/** The absolute path of an executable `tool` on PATH (or in the sbin directories), else undefined. */
export function findTool(tool: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (hidden(env).has(tool)) return undefined;
  const dirs = [...(env.PATH ?? '').split(path.delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, tool);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** `<tool> not installed (apt-get install <package>)`. */
export function missingReason(tool: string, pkg: string = DEBIAN_PACKAGE[tool] ?? tool): string {
  return `${tool} not installed (apt-get install ${pkg})`;
}

/** True when a missing tool must fail the test (CI installs them all). */
export function toolsRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true';
}

/**
 * The path of `tool`, or undefined after ending `t` for its absence: skipped (plan 0, with the
 * reason) on a developer's machine, a failure when CI=true. Call it first in a test, before any
 * assertion, and return when it gives undefined:
 *
 *   const promtool = requireTool(t, 'promtool', 'prometheus');
 *   if (promtool === undefined) return;
 *
 * On the root `t` of a file it skips the whole file.
 */
export function requireTool(t: Test, tool: string, pkg: string = DEBIAN_PACKAGE[tool] ?? tool): string | undefined {
  const found = findTool(tool);
  if (found !== undefined) return found;
  skipOrFail(t, missingReason(tool, pkg));
  return undefined;
}

/** Ends `t` because something it needs is missing: skipped, or failed when CI=true. */
export function skipOrFail(t: Test, reason: string): void {
  if (toolsRequired()) {
    t.fail(`${reason}: CI=true, where every tool must be installed (.ci/run installs them)`);
    return;
  }
  t.plan(0, `skipped: ${reason}`);
}

/**
 * `tool ...args` (with `input` on stdin) as its own subtest `name` of `t`, which passes when the
 * tool exits 0 and shows its output otherwise; skipped (failed when CI=true) without the tool.
 * The enclosing test keeps its other assertions either way.
 */
export function checkWithTool(t: Test, name: string, tool: string, args: readonly string[], input?: string): Promise<unknown> {
  return t.test(name, async (t) => {
    const bin = requireTool(t, tool);
    if (bin === undefined) return;
    const r = spawnSync(bin, args, { input, encoding: 'utf8', timeout: 30_000 });
    t.equal(r.status, 0, `${tool} ${args.join(' ')}: ${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`);
  });
}
