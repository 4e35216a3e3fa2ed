// `turnout shadow status|set N` (CONTRACT §9): read the shadow comparison, or change the share of
// the active colour's requests mirrored to the idle colour (audited as a `shadow` event).
import type { ShadowView } from '../shadow/stats.ts';
import type { CliIO, CommandSpec } from './commands.ts';
import { CHANGE_HELP, CHANGE_OPTIONS, changeOptions, COMMON_HELP, parseCommand, printJson, UsageError } from './commands.ts';

const USAGE = 'shadow status | set N [--reason TEXT] [--if-match VERSION] [--service NAME] [--admin URL] [--json]';
const SUMMARY = 'Shadow comparison: mirror N percent of the active colour\'s requests to the idle colour and compare the answers.';

export function formatShadow(view: ShadowView): string {
  const rate = `${(view.mismatchRate * 100).toFixed(2)}%`;
  const lines = [
    `percent     ${view.percent}%`,
    `compared    ${view.compared}`,
    `mismatches  ${view.mismatches} (${rate}): status ${view.byKind.status}, headers ${view.byKind.headers}, body ${view.byKind.body}`,
    `errors      ${view.results.error}, dropped ${view.dropped}`,
    `noise       ${view.noise.length === 0 ? 'none learnt' : view.noise.map((n) => n.key).join(', ')}`,
  ];
  for (const s of view.samples.slice(0, 5)) lines.push(`  ${s.at}  ${s.method} ${s.path}  ${s.kinds.join('+')} at ${s.first}`);
  return lines.join('\n') + '\n';
}

export const shadowCommand: CommandSpec = {
  usage: USAGE,
  summary: SUMMARY,
  async run(args, io: CliIO) {
    const cmd = parseCommand(args, io, CHANGE_OPTIONS, 2);
    if (cmd.help) {
      io.stdout(`usage: turnout ${USAGE}\n\n${SUMMARY}\n\n${CHANGE_HELP}${COMMON_HELP}\n`);
      return 0;
    }
    const [sub, raw] = cmd.positionals;
    let view: ShadowView;
    if (sub === 'status' || sub === undefined) {
      if (raw !== undefined) throw new UsageError('shadow status takes no argument');
      view = await cmd.client.request<ShadowView>('GET', '/api/v1/shadow');
    } else if (sub === 'set') {
      if (raw === undefined || !/^\d+(\.\d+)?$/.test(raw)) throw new UsageError(`shadow set needs a percent 0..100, got ${raw ?? 'nothing'}`);
      const options = changeOptions(cmd.values);
      const body: Record<string, unknown> = { percent: Number(raw) };
      if (options.reason !== undefined) body.reason = options.reason;
      view = await cmd.client.request<ShadowView>('PUT', '/api/v1/shadow', { ...options, body });
    } else {
      throw new UsageError(`unknown shadow subcommand "${sub}" (status or set N)`);
    }
    if (cmd.json) printJson(io, view);
    else io.stdout(formatShadow(view));
    return 0;
  },
};
