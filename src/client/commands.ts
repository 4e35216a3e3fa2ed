// The admin subcommands of the `turnout` CLI (status, weight, flip, rollback, events) and the
// small kit every subcommand shares: common options (--admin, --json, --help), the client built
// from them, and the output helpers. `src/client/rollout-commands.ts` builds on the same kit.
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import type { StateView } from '../admin/state-view.ts';
import type { AuditEvent } from '../state/model.ts';
import { AdminClient, DEFAULT_ADMIN_URL } from './admin-client.ts';
import type { ChangeOptions, ServiceSummary } from './admin-client.ts';

export interface CliIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** A subcommand: its arguments after the command name → exit code. Throw UsageError for bad arguments. */
export type Command = (args: string[], io: CliIO) => Promise<number>;

export interface CommandSpec {
  readonly usage: string;
  readonly summary: string;
  readonly run: Command;
}

/** Bad command-line arguments: printed with a hint, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

export const COMMON_OPTIONS = {
  admin: { type: 'string' },
  service: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpecs;

/** Options of every command that changes the state: recorded in the audit log, or guarded by If-Match. */
export const CHANGE_OPTIONS = {
  reason: { type: 'string' },
  'if-match': { type: 'string' },
  actor: { type: 'string' },
} as const satisfies OptionSpecs;

export const COMMON_HELP = `  --service NAME    the service to act on (CONTRACT §10; default $TURNOUT_SERVICE, else the only one)
  --admin URL       admin API (default ${DEFAULT_ADMIN_URL}); token from TURNOUT_ADMIN_TOKEN
  --json            print the API's JSON instead of a summary`;

export interface ParsedCommand {
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: string[];
  readonly json: boolean;
  readonly help: boolean;
  readonly client: AdminClient;
}

/** What --service accepts: a config key as an operator types it (the server 404s an unknown one). */
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Parses a subcommand's arguments strictly (unknown options are usage errors) and builds its client. */
export function parseCommand(args: string[], io: CliIO, options: OptionSpecs = {}, maxPositionals = 0): ParsedCommand {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (parsed.positionals.length > maxPositionals && values.help !== true) {
    throw new UsageError(`unexpected argument: ${parsed.positionals[maxPositionals]}`);
  }
  const baseUrl = typeof values.admin === 'string' ? values.admin : (io.env.TURNOUT_ADMIN_URL ?? DEFAULT_ADMIN_URL);
  if (!/^https?:\/\/[^\s/]+/.test(baseUrl)) throw new UsageError(`--admin must be an http(s) URL, got ${baseUrl}`);
  const token = io.env.TURNOUT_ADMIN_TOKEN;
  const service = typeof values.service === 'string' ? values.service : io.env.TURNOUT_SERVICE || undefined;
  if (service !== undefined && !SERVICE_NAME.test(service)) throw new UsageError(`--service must be a service name (letters, digits, - _ .; at most 64), got "${service}"`);
  return {
    values,
    positionals: parsed.positionals,
    json: values.json === true,
    help: values.help === true,
    client: new AdminClient({ baseUrl, ...(token ? { token } : {}), ...(service !== undefined ? { service } : {}) }),
  };
}

export function printJson(io: CliIO, value: unknown): void {
  io.stdout(JSON.stringify(value, null, 2) + '\n');
}

/** `8` → `8%`, `12.3456` → `12.3456%`. */
export function percent(weight: number): string {
  return `${weight}%`;
}

export function formatState(view: StateView): string {
  const rows: [string, string][] = [
    ['active', `${view.active}`],
    ['canary', `${view.canary.colour} at ${percent(view.canary.weight)}`],
    ['split', `blue ${percent(view.split.blue)} · green ${percent(view.split.green)}`],
    ['sticky', view.sticky.by === 'none' ? 'none' : `by ${view.sticky.by}${stickyKey(view)}`],
    ['rollout', formatRollout(view.rollout)],
    ['idle', formatIdle(view)],
    ['verify', formatVerification(view)],
    ['version', `${view.version}`],
    ['updated', view.updatedAt],
  ];
  return rows.map(([k, v]) => `${k.padEnd(8)} ${v}`).join('\n') + '\n';
}

function stickyKey(view: StateView): string {
  if (view.sticky.by === 'cookie') return ` (${view.sticky.cookie})`;
  if (view.sticky.by === 'header') return ` (${view.sticky.header})`;
  return '';
}

/** `blue since 2026-…, free` (CONTRACT §11: free once a verification passed). Tolerates an older server. */
function formatIdle(view: StateView): string {
  const idle = view.idle as StateView['idle'] | undefined;
  if (!idle) return view.canary.colour;
  return `${idle.colour}${idle.since ? ` since ${idle.since}` : ''}, ${idle.free ? 'free (verified: may be redeployed)' : 'not free'}`;
}

function formatVerification(view: StateView): string {
  const v = view.verification as StateView['verification'] | undefined;
  if (!v) return 'none';
  const last = v.verdicts.at(-1);
  const verdict = last ? `; last verdict ${last.result}` : '';
  if (v.status === 'running') return `running: ${v.colour} until ${v.until} (${v.remainingSeconds}s left), ${v.verdicts.length} verdicts${verdict}`;
  return `${v.status}: ${v.colour} (ended ${v.endedAt ?? '?'})${v.reason ? `: ${v.reason}` : ''}`;
}

function formatRollout(rollout: unknown): string {
  if (rollout === null || rollout === undefined) return 'none';
  if (typeof rollout === 'object') {
    const r = rollout as { status?: unknown; step?: unknown; steps?: unknown };
    if (typeof r.status === 'string') {
      const steps = Array.isArray(r.steps) ? r.steps.length : r.steps;
      const step = typeof r.step === 'number' && steps !== undefined ? `, step ${r.step + 1}/${String(steps)}` : '';
      return `${r.status}${step}`;
    }
  }
  return JSON.stringify(rollout);
}

/** A fleet's answer to a change (CONTRACT §6): `applied on 3/3 replicas`, or who lags. */
export function formatConverged(view: StateView): string {
  const c = view.converged;
  if (c === undefined) return '';
  const lagging = c.lagging && c.lagging.length > 0 ? `; not yet on ${c.lagging.join(', ')}` : '';
  return `applied on ${c.applied}/${c.replicas} replicas${lagging}\n`;
}

export function formatEvents(events: readonly AuditEvent[]): string {
  if (events.length === 0) return 'no events\n';
  const header = ['VERSION', 'AT', 'ACTION', 'FROM', 'TO', 'ACTOR', 'REASON'];
  const rows = events.map((e) => [
    String(e.version),
    e.at,
    e.action,
    `${e.from.active} ${percent(e.from.weight)}`,
    `${e.to.active} ${percent(e.to.weight)}`,
    e.actor,
    e.reason,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return (
    [header, ...rows].map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n') + '\n'
  );
}

export function changeOptions(values: ParsedCommand['values']): ChangeOptions {
  const options: ChangeOptions = {};
  const ifMatch = values['if-match'];
  if (typeof ifMatch === 'string') {
    if (!/^\d{1,15}$/.test(ifMatch)) throw new UsageError('--if-match must be a version number');
    options.ifMatch = Number(ifMatch);
  }
  if (typeof values.reason === 'string') options.reason = values.reason;
  if (typeof values.actor === 'string') options.actor = values.actor;
  return options;
}

function help(io: CliIO, usage: string, summary: string, extra = ''): number {
  io.stdout(`usage: turnout ${usage}\n\n${summary}\n\n${extra}${COMMON_HELP}\n`);
  return 0;
}

export const CHANGE_HELP = `  --reason TEXT     why (recorded in the audit log)
  --actor NAME      who (recorded in the audit log; default "admin")
  --if-match N      apply only if the state is still at version N (else 412)
`;

export const statusCommand: CommandSpec = {
  usage: 'status [--service NAME] [--admin URL] [--json]',
  summary: 'Show the active colour, the canary weight, the split and the rollout.',
  async run(args, io) {
    const cmd = parseCommand(args, io);
    if (cmd.help) return help(io, statusCommand.usage, statusCommand.summary);
    const view = await cmd.client.state();
    if (cmd.json) printJson(io, view);
    else io.stdout((cmd.client.service !== undefined ? `${'service'.padEnd(8)} ${cmd.client.service}\n` : '') + formatState(view));
    return 0;
  },
};

export const weightCommand: CommandSpec = {
  usage: 'weight N [--reason TEXT] [--if-match VERSION] [--service NAME] [--admin URL] [--json]',
  summary: 'Send N percent (0..100, at most 4 decimals) of traffic to the canary (the idle colour).',
  async run(args, io) {
    const cmd = parseCommand(args, io, CHANGE_OPTIONS, 1);
    if (cmd.help) return help(io, weightCommand.usage, weightCommand.summary, CHANGE_HELP);
    const raw = cmd.positionals[0];
    if (raw === undefined) throw new UsageError('weight needs a number: turnout weight 8');
    if (!/^\d+(\.\d+)?$/.test(raw)) throw new UsageError(`weight must be a number 0..100, got ${raw}`);
    const view = await cmd.client.setWeight(Number(raw), changeOptions(cmd.values));
    if (cmd.json) printJson(io, view);
    else io.stdout(`canary ${view.canary.colour} at ${percent(view.canary.weight)}, ${view.active} at ${percent(view.split[view.active])} (version ${view.version})\n${formatConverged(view)}`);
    return 0;
  },
};

/** A bodiless state change (flip, rollback): same options, same output shape. */
function changeCommand(
  usage: string,
  summary: string,
  call: (client: ParsedCommand['client'], options: ChangeOptions) => Promise<StateView>,
  describe: (view: StateView) => string,
): CommandSpec {
  return {
    usage,
    summary,
    async run(args, io) {
      const cmd = parseCommand(args, io, CHANGE_OPTIONS);
      if (cmd.help) return help(io, usage, summary, CHANGE_HELP);
      const view = await call(cmd.client, changeOptions(cmd.values));
      if (cmd.json) printJson(io, view);
      else io.stdout(`${describe(view)} (version ${view.version})\n${formatConverged(view)}`);
      return 0;
    },
  };
}

export const FLIP_USAGE = 'flip [--verify SECONDS] [--reason TEXT] [--if-match VERSION] [--service NAME] [--admin URL] [--json]';

export const flipCommand: CommandSpec = {
  usage: FLIP_USAGE,
  summary: 'Make the idle colour active (canary weight back to 0), optionally verified for SECONDS.',
  async run(args, io) {
    const cmd = parseCommand(args, io, { ...CHANGE_OPTIONS, verify: { type: 'string' } });
    if (cmd.help) {
      return help(io, FLIP_USAGE, flipCommand.summary, `  --verify SECONDS  judge the new active colour for SECONDS (0: no period, even with routing.verify);
                    a failing verdict flips straight back; other thresholds come from routing.verify
${CHANGE_HELP}`);
    }
    const options: ChangeOptions & { verify?: { seconds: number } | false } = changeOptions(cmd.values);
    const raw = cmd.values.verify;
    if (typeof raw === 'string') {
      if (!/^\d{1,7}$/.test(raw)) throw new UsageError(`--verify must be a whole number of seconds, got ${raw}`);
      options.verify = Number(raw) === 0 ? false : { seconds: Number(raw) };
    }
    const view = await cmd.client.flip(options);
    if (cmd.json) printJson(io, view);
    else {
      const v = view.verification as StateView['verification'] | undefined;
      const verifying = v && v.status === 'running' && v.colour === view.active ? `; verifying until ${v.until} (${v.remainingSeconds}s)` : '';
      io.stdout(`flipped: ${view.active} is active, ${view.canary.colour} idle at 0%${verifying} (version ${view.version})\n${formatConverged(view)}`);
    }
    return 0;
  },
};

export const rollbackCommand = changeCommand(
  'rollback [--reason TEXT] [--if-match VERSION] [--service NAME] [--admin URL] [--json]',
  'Canary weight > 0: set it to 0. Otherwise undo the last flip.',
  (client, options) => client.rollback(options),
  (view) => `rolled back: ${view.active} is active, ${view.canary.colour} at ${percent(view.canary.weight)}`,
);

export const eventsCommand: CommandSpec = {
  usage: 'events [--limit N] [--service NAME] [--admin URL] [--json]',
  summary: 'Show the audit log, newest first.',
  async run(args, io) {
    const cmd = parseCommand(args, io, { limit: { type: 'string' } });
    if (cmd.help) return help(io, eventsCommand.usage, eventsCommand.summary, '  --limit N         at most N events (default 100, at most 10000)\n');
    const raw = cmd.values.limit;
    let limit: number | undefined;
    if (typeof raw === 'string') {
      if (!/^\d{1,6}$/.test(raw)) throw new UsageError(`--limit must be a positive integer, got ${raw}`);
      limit = Number(raw);
    }
    const events = await cmd.client.events(limit);
    if (cmd.json) printJson(io, events);
    else io.stdout(formatEvents(events));
    return 0;
  },
};

/** `turnout services`: one line per service (CONTRACT §10), in config order. */
export function formatServices(services: readonly ServiceSummary[]): string {
  const header = ['SERVICE', 'HOSTS', 'PATH', 'ACTIVE', 'CANARY', 'VERSION', 'ROLLOUT'];
  const rows = services.map((s) => [
    s.name,
    s.match.hosts.length === 0 ? '*' : s.match.hosts.join(','),
    s.match.pathPrefix,
    s.active,
    `${s.canary.colour} ${percent(s.canary.weight)}`,
    String(s.version),
    formatRollout(s.rollout),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n') + '\n';
}

export const servicesCommand: CommandSpec = {
  usage: 'services [--admin URL] [--json]',
  summary: 'List the services (CONTRACT §10): match, active colour, canary, version and rollout of each; act on one with --service NAME.',
  async run(args, io) {
    const cmd = parseCommand(args, io);
    if (cmd.help) return help(io, servicesCommand.usage, servicesCommand.summary);
    const services = await cmd.client.services();
    if (cmd.json) printJson(io, services);
    else io.stdout(formatServices(services));
    return 0;
  },
};
