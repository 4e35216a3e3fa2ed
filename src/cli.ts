#!/usr/bin/env node
// The `turnout` command (CONTRACT §1): `serve --config FILE` runs the proxy; the other
// subcommands are admin clients over the REST API. Exit 0 on success; 1 with a one-line reason
// when the admin API cannot be reached or answers an error; 2 for bad arguments.
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AdminClientError } from './client/admin-client.ts';
import type { CliIO, CommandSpec } from './client/commands.ts';
import { eventsCommand, flipCommand, rollbackCommand, servicesCommand, statusCommand, UsageError, weightCommand } from './client/commands.ts';
import { pinTickObjectShape } from './runtime/tick-shape.ts';

const serveCommand: CommandSpec = {
  usage: 'serve --config FILE',
  summary: 'Run the proxy from a YAML or JSON config file.',
  async run(args, io) {
    let config: string | undefined;
    try {
      const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, strict: true });
      if (values.help) {
        io.stdout(`usage: turnout ${serveCommand.usage}\n\n${serveCommand.summary}\n`);
        return 0;
      }
      config = values.config;
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (config === undefined) throw new UsageError('serve needs --config FILE');
    // The admin commands run on older Nodes; the proxy does not (PITFALLS: Node 20 is past its
    // end of life with an unfixed header-count bug, undici 7 wants ≥ 22.19). npm's scripts and
    // `npx turnout` use the pinned `node` devDependency, so this shows only when run by hand.
    const tooOld = serveNodeProblem(process.versions.node);
    if (tooOld !== undefined) throw new Error(tooOld);
    // Before the app's modules load: their startup GCs are what would drop nextTick's shapes.
    pinTickObjectShape();
    // Imported only for `serve`, so the admin subcommands stay light.
    const { runServe } = await import('./server.ts');
    await runServe(config);
    return 0; // the listeners keep the process alive; signals end it
  },
};

const MIN_SERVE_NODE = 24;

/** Why `serve` refuses to run on this Node version, or undefined. */
export function serveNodeProblem(nodeVersion: string): string | undefined {
  const major = Number(nodeVersion.split('.')[0]);
  if (major >= MIN_SERVE_NODE) return undefined;
  return `serve needs Node ${MIN_SERVE_NODE} LTS or newer, this is Node ${nodeVersion} (run it through npm or npx, which use the pinned node devDependency, or in the container)`;
}

const checkCommand: CommandSpec = {
  usage: 'check --config FILE [--json]',
  summary: 'Validate a config without serving (as nginx -t): print it with every default filled in, or every error with its field path; exit 0 or 1.',
  async run(args, io) {
    let values;
    try {
      ({ values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (values.help) {
      io.stdout(`usage: turnout ${checkCommand.usage}\n\n${checkCommand.summary}\nSecrets (admin.token, notify.secret, passwords in URLs) are printed as <redacted>.\n`);
      return 0;
    }
    if (values.config === undefined) throw new UsageError('check needs --config FILE');
    const { checkConfigFile } = await import('./config/check.ts');
    const result = checkConfigFile(values.config, io.env, values.json === true ? 'json' : 'yaml');
    if (!result.ok) {
      io.stderr(`turnout check: ${result.message}\n`);
      return 1;
    }
    io.stdout(result.text);
    io.stderr(`turnout check: ${values.config}: configuration is valid\n`);
    return 0;
  },
};

/** One line each; another part adds its subcommand here (e.g. `rollout`, lazily imported). */
export const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  serve: serveCommand,
  check: checkCommand,
  status: statusCommand,
  weight: weightCommand,
  flip: flipCommand,
  rollback: rollbackCommand,
  events: eventsCommand,
  services: servicesCommand,
  shadow: lazyCommand('shadow status | set N', 'Shadow comparison: mirror N% of the active colour\'s requests to the idle colour and compare.', () => import('./client/shadow-commands.ts').then((m) => m.shadowCommand)),
  rollout: lazyCommand('rollout start --steps W:H,... | status | pause | resume | promote | abort', 'Progressive rollouts: steps of weight and hold, judged by analysis.', () => import('./client/rollout-commands.ts').then((m) => m.rolloutCommand)),
};

/** A subcommand whose module loads only when it runs. */
export function lazyCommand(usage: string, summary: string, load: () => Promise<CommandSpec>): CommandSpec {
  return { usage, summary, run: async (args, io) => (await load()).run(args, io) };
}

/** The package's version, from package.json beside src/ and dist/ (and in the image's /app). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

export function usage(): string {
  const lines = Object.values(COMMANDS).map((c) => `  turnout ${c.usage}\n      ${c.summary}`);
  return `Turnout: blue-green and canary releases at the edge.

usage:
${lines.join('\n')}

Admin commands talk to --admin URL (default $TURNOUT_ADMIN_URL, else http://127.0.0.1:9901)
with the token from TURNOUT_ADMIN_TOKEN; --service NAME (or $TURNOUT_SERVICE) picks the service when there are several. Add --json for machine-readable output, --help after a command for its options.
turnout --version prints the version.
`;
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    io.stdout(`turnout ${version()}\n`);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    io.stderr(`turnout: unknown command "${name}" (try turnout --help)\n`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`turnout ${name}: ${err.message} (usage: turnout ${command.usage})\n`);
      return 2;
    }
    if (err instanceof AdminClientError) {
      io.stderr(`turnout ${name}: ${err.message}\n`);
      return 1;
    }
    io.stderr(`turnout ${name}: ${(err as Error).message ?? String(err)}\n`);
    return 1;
  }
}

const processIO: CliIO = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
};

// Run only as the program, not when a test imports main(). `import.meta.main` is Node 24's;
// older Nodes (an operator's laptop running only the admin commands) compare paths instead.
function isProgram(): boolean {
  if (typeof import.meta.main === 'boolean') return import.meta.main;
  const script = process.argv[1];
  try {
    return script !== undefined && realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isProgram()) {
  // `turnout events | head`: a closed pipe ends the output quietly, not with a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  // exitCode, not exit(): stdout drains first, and `serve` keeps running on its listeners.
  process.exitCode = await main(process.argv.slice(2), processIO);
}
