// `turnout rollout start|status|pause|resume|promote|abort`: progressive rollouts from the
// command line, over the admin API. Options are checked for shape here (numbers are numbers);
// ranges and relations (weights increasing) are the server's to judge, and its 400 names the field.
import type { RecordedVerdict, RolloutView } from '../rollout/types.ts';
import type { CliIO, CommandSpec, OptionSpecs, ParsedCommand } from './commands.ts';
import { CHANGE_HELP, CHANGE_OPTIONS, changeOptions, COMMON_HELP, parseCommand, percent, printJson, UsageError } from './commands.ts';
import { currentRollout, rolloutAction, startRollout, type RolloutAction, type RolloutBody } from './rollout-client.ts';

/** CLI flag → analysis field; each takes a number. */
const ANALYSIS_FLAGS = {
  interval: 'intervalSeconds',
  'min-requests': 'minRequests',
  'max-error-rate': 'maxErrorRate',
  'max-p99-ms': 'maxP99Ms',
  'max-p99-ratio': 'maxP99Ratio',
  alpha: 'alpha',
  'min-error-rate-delta': 'minErrorRateDelta',
  'p99-tolerance-ms': 'p99ToleranceMs',
} as const;

const START_OPTIONS: OptionSpecs = {
  ...CHANGE_OPTIONS,
  steps: { type: 'string' },
  ...Object.fromEntries(Object.keys(ANALYSIS_FLAGS).map((flag) => [flag, { type: 'string' }])),
};

const START_HELP = `  --steps W:H,...           canary weight (percent) and hold (seconds) of each step, weights increasing,
                            e.g. 5:30,25:60,100:60; after the last step the canary is promoted
  --interval S              seconds between analyses (default 10)
  --min-requests N          fewer canary requests in the window → the step holds (default 50)
  --max-error-rate R        absolute limit on the canary's error rate, 0..1 (default 0.02)
  --max-p99-ms MS           absolute limit on the canary's p99 latency (default 800)
  --max-p99-ratio X         limit on canary p99 / stable p99 (default 1.5)
  --alpha P                 significance of the error-rate tests (default 0.01)
  --min-error-rate-delta R  excess over stable's error rate never counted as a regression (default 0.005)
  --p99-tolerance-ms MS     excess over stable's p99 never counted as a regression (default 50)
${CHANGE_HELP}`;

const USAGE = 'rollout start --steps W:H,... [--max-error-rate R --max-p99-ms MS --min-requests N --interval S --max-p99-ratio X] | status | pause | resume | promote | abort [--service NAME]';

const SUMMARY = 'Progressive rollouts: start one, watch its steps and analyses, pause, resume, promote or abort it.';

const NUMBER = /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

function num(raw: string, what: string): number {
  if (!NUMBER.test(raw.trim())) throw new UsageError(`${what} must be a number, got "${raw}"`);
  return Number(raw);
}

/** `5:30,25:60,100:60` → steps. */
export function parseSteps(raw: string): RolloutBody['steps'] {
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) throw new UsageError('--steps must be W:H,... e.g. 5:30,25:60,100:60');
  return parts.map((part, i) => {
    const m = /^([^:]+):([^:]+)$/.exec(part);
    if (!m) throw new UsageError(`--steps: step ${i + 1} ("${part}") must be WEIGHT:HOLD_SECONDS`);
    return { weight: num(m[1]!, `--steps: step ${i + 1} weight`), holdSeconds: num(m[2]!, `--steps: step ${i + 1} hold`) };
  });
}

/** The body of `rollout start` from its options. */
export function startBody(values: ParsedCommand['values']): RolloutBody {
  if (typeof values.steps !== 'string') throw new UsageError('rollout start needs --steps, e.g. --steps 5:30,25:60,100:60');
  const analysis: Record<string, number> = {};
  for (const [flag, field] of Object.entries(ANALYSIS_FLAGS)) {
    const raw = values[flag];
    if (typeof raw === 'string') analysis[field] = num(raw, `--${flag}`);
  }
  const body: RolloutBody = { steps: parseSteps(values.steps), onSuccess: 'promote' };
  if (Object.keys(analysis).length > 0) body.analysis = analysis;
  return body;
}

function time(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function sample(s: RecordedVerdict['canary']): string {
  return `${s.errors}/${s.requests} errors, p99 ${s.p99Ms === null ? 'n/a' : `${Math.round(s.p99Ms)}ms`}`;
}

function formatVerdict(v: RecordedVerdict): string {
  const head = `  ${time(v.at)}  step ${v.step + 1}  ${v.result.padEnd(12)}`;
  if (v.result === 'pass') return `${head} canary ${sample(v.canary)} · stable ${sample(v.stable)}`;
  return `${head} ${v.reasons.join('; ')}`;
}

/** A human summary of a rollout: status, steps (the current one marked), the latest verdicts. */
export function formatRollout(r: RolloutView, verdicts = 5): string {
  const total = r.steps.length;
  const lines = [
    `rollout ${r.id}: ${r.status}, step ${r.step + 1}/${total}, ${r.canary} canary at ${percent(r.weight)} (stable ${r.stable})`,
    `steps    ${r.steps.map((s, i) => (i === r.step ? `[${percent(s.weight)} for ${s.holdSeconds}s]` : `${percent(s.weight)} for ${s.holdSeconds}s`)).join(' → ')}`,
  ];
  if (r.holdUntil !== null) lines.push(`hold     until ${time(r.holdUntil)}`);
  if (r.pausedAt !== null) lines.push(`paused   since ${time(r.pausedAt)}`);
  if (r.endedAt !== null) lines.push(`ended    ${time(r.endedAt)}`);
  if (r.reason !== '') lines.push(`reason   ${r.reason}`);
  const a = r.analysisSettings;
  lines.push(
    `analysis every ${a.intervalSeconds}s, min ${a.minRequests} requests, error rate ≤ ${a.maxErrorRate}, p99 ≤ ${a.maxP99Ms}ms and ≤ ${a.maxP99Ratio}× stable`,
  );
  const recent = r.analysis.slice(-verdicts);
  lines.push(recent.length === 0 ? 'verdicts none yet' : `verdicts (latest ${recent.length} of ${r.analysis.length}, oldest first)`);
  for (const v of recent) lines.push(formatVerdict(v));
  return lines.join('\n') + '\n';
}

function help(io: CliIO): number {
  io.stdout(`usage: turnout ${USAGE}\n\n${SUMMARY}\n\nrollout start:\n${START_HELP}\nrollout pause|resume|promote|abort:\n${CHANGE_HELP}\n${COMMON_HELP}\n`);
  return 0;
}

const ACTIONS: readonly RolloutAction[] = ['pause', 'resume', 'promote', 'abort'];

const PAST: Record<RolloutAction, string> = { pause: 'paused', resume: 'resumed', promote: 'promoted', abort: 'aborted' };

export const rolloutCommand: CommandSpec = {
  usage: USAGE,
  summary: SUMMARY,
  async run(args, io) {
    const [sub, ...rest] = args;
    if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
      help(io);
      return sub === undefined ? 2 : 0;
    }
    if (sub === 'start') {
      const cmd = parseCommand(rest, io, START_OPTIONS);
      if (cmd.help) return help(io);
      const view = await startRollout(cmd.client, startBody(cmd.values), changeOptions(cmd.values));
      if (cmd.json) printJson(io, view);
      else io.stdout(`started ${formatRollout(view)}`);
      return 0;
    }
    if (sub === 'status') {
      const cmd = parseCommand(rest, io);
      if (cmd.help) return help(io);
      const view = await currentRollout(cmd.client);
      if (cmd.json) printJson(io, view);
      else io.stdout(formatRollout(view));
      return 0;
    }
    if ((ACTIONS as readonly string[]).includes(sub)) {
      const action = sub as RolloutAction;
      const cmd = parseCommand(rest, io, CHANGE_OPTIONS);
      if (cmd.help) return help(io);
      const view = await rolloutAction(cmd.client, action, changeOptions(cmd.values));
      if (cmd.json) printJson(io, view);
      else io.stdout(`${PAST[action]} ${formatRollout(view)}`);
      return 0;
    }
    throw new UsageError(`unknown rollout command "${sub}" (start, status, pause, resume, promote, abort)`);
  },
};
