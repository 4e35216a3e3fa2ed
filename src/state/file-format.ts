// The on-disk shape of the state file, and a strict reader: a file that parses but does not have
// this shape is as unreadable as one that does not parse (serve refuses to start, naming the file).
import { isColour, isValidWeight } from '../domain.ts';
import type { Action, AuditEvent, ColourWeight, IdleState, RoutingState, VerificationRecord, VerificationSample } from './model.ts';
import { VERIFICATION_STATUSES } from './model.ts';
import type { StoredState } from './store.ts';

export const FILE_FORMAT = 'turnout-state/1';

export interface StateFile {
  readonly format: typeof FILE_FORMAT;
  readonly state: RoutingState;
  /** Oldest first, bounded. */
  readonly events: readonly AuditEvent[];
}

const ACTIONS: ReadonlySet<string> = new Set<Action>([
  'weight', 'flip', 'rollback', 'rollout.start', 'rollout.step', 'rollout.pause', 'rollout.resume', 'rollout.promote', 'rollout.abort',
  'flip.verified', 'flip.revert', 'shadow',
]);

class ShapeError extends Error {}

function fail(path: string, what: string): never {
  throw new ShapeError(`${path} ${what}`);
}

function obj(value: unknown, path: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(path, 'must be an object');
  return value as Record<string, unknown>;
}

function int(value: unknown, path: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) fail(path, 'must be a non-negative integer');
  return value as number;
}

function str(value: unknown, path: string): string {
  if (typeof value !== 'string') fail(path, 'must be a string');
  return value;
}

function colourWeight(value: unknown, path: string): ColourWeight {
  const o = obj(value, path);
  if (!isColour(o.active)) fail(`${path}.active`, 'must be blue or green');
  if (!isValidWeight(o.weight)) fail(`${path}.weight`, 'must be a weight 0..100');
  return { active: o.active, weight: o.weight };
}

export function checkState(value: unknown, path = 'state'): RoutingState {
  const o = obj(value, path);
  const { active, weight } = colourWeight(o, path);
  if (!Array.isArray(o.flips)) fail(`${path}.flips`, 'must be an array');
  const flips = o.flips.map((f, i) => {
    const fo = obj(f, `${path}.flips[${i}]`);
    return { version: int(fo.version, `${path}.flips[${i}].version`), from: colourWeight(fo.from, `${path}.flips[${i}].from`) };
  });
  if (!('rollout' in o)) fail(`${path}.rollout`, 'is missing');
  const state: RoutingState = {
    version: int(o.version, `${path}.version`),
    active,
    weight,
    updatedAt: str(o.updatedAt, `${path}.updatedAt`),
    flips,
    rollout: o.rollout ?? null,
  };
  // CONTRACT §11 fields: absent in files written before them (still loadable), checked when present.
  const extra: { idle?: IdleState; verification?: VerificationRecord | null; shadow?: { percent: number } } = {};
  // CONTRACT §9: absent in older files.
  if (o.shadow !== undefined) {
    const so = obj(o.shadow, `${path}.shadow`);
    if (!isValidWeight(so.percent)) fail(`${path}.shadow.percent`, 'must be a number 0..100');
    extra.shadow = { percent: so.percent };
  }
  if (o.idle !== undefined) extra.idle = checkIdle(o.idle, `${path}.idle`);
  if (o.verification !== undefined) extra.verification = o.verification === null ? null : checkVerification(o.verification, `${path}.verification`);
  return { ...state, ...extra };
}

function num(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(path, 'must be a number');
  return value;
}

function checkIdle(value: unknown, path: string): IdleState {
  const o = obj(value, path);
  if (o.since !== null) str(o.since, `${path}.since`);
  if (typeof o.free !== 'boolean') fail(`${path}.free`, 'must be true or false');
  return { since: o.since as string | null, free: o.free };
}

function checkSample(value: unknown, path: string): VerificationSample {
  const o = obj(value, path);
  if (o.p99Ms !== null) num(o.p99Ms, `${path}.p99Ms`);
  return {
    requests: int(o.requests, `${path}.requests`),
    errors: int(o.errors, `${path}.errors`),
    p99Ms: o.p99Ms as number | null,
    spanSeconds: num(o.spanSeconds, `${path}.spanSeconds`),
  };
}

const SETTINGS = ['seconds', 'intervalSeconds', 'minRequests', 'maxErrorRate', 'maxP99Ms', 'maxP99Ratio', 'alpha', 'minErrorRateDelta', 'p99ToleranceMs'] as const;

/** The verification record's shape (its meaning is rollout/verification-record.ts'). */
export function checkVerification(value: unknown, path: string): VerificationRecord {
  const o = obj(value, path);
  if (o.kind !== 'turnout-verification/1') fail(`${path}.kind`, 'must be "turnout-verification/1"');
  if (!VERIFICATION_STATUSES.includes(o.status as never)) fail(`${path}.status`, `must be one of ${VERIFICATION_STATUSES.join(', ')}`);
  if (!isColour(o.colour)) fail(`${path}.colour`, 'must be blue or green');
  if (!isColour(o.from)) fail(`${path}.from`, 'must be blue or green');
  if (o.endedAt !== null) str(o.endedAt, `${path}.endedAt`);
  const so = obj(o.settings, `${path}.settings`);
  const settings = Object.fromEntries(SETTINGS.map((k) => [k, num(so[k], `${path}.settings.${k}`)])) as unknown as VerificationRecord['settings'];
  if (!Array.isArray(o.verdicts)) fail(`${path}.verdicts`, 'must be an array');
  const verdicts = o.verdicts.map((v, i) => {
    const p = `${path}.verdicts[${i}]`;
    const vo = obj(v, p);
    if (vo.result !== 'pass' && vo.result !== 'fail' && vo.result !== 'inconclusive') fail(`${p}.result`, 'must be pass, fail or inconclusive');
    if (!Array.isArray(vo.reasons)) fail(`${p}.reasons`, 'must be an array');
    return {
      at: str(vo.at, `${p}.at`),
      result: vo.result as 'pass' | 'fail' | 'inconclusive',
      reasons: vo.reasons.map((r, j) => str(r, `${p}.reasons[${j}]`)),
      sample: checkSample(vo.sample, `${p}.sample`),
    };
  });
  return {
    kind: 'turnout-verification/1',
    id: str(o.id, `${path}.id`),
    status: o.status as VerificationRecord['status'],
    colour: o.colour,
    from: o.from,
    flipVersion: int(o.flipVersion, `${path}.flipVersion`),
    startedAt: str(o.startedAt, `${path}.startedAt`),
    until: str(o.until, `${path}.until`),
    endedAt: o.endedAt as string | null,
    reason: str(o.reason, `${path}.reason`),
    settings,
    baseline: checkSample(o.baseline, `${path}.baseline`),
    verdicts,
  };
}

export function checkEvent(value: unknown, path: string): AuditEvent {
  const o = obj(value, path);
  if (typeof o.action !== 'string' || !ACTIONS.has(o.action)) fail(`${path}.action`, 'is not a known action');
  return {
    at: str(o.at, `${path}.at`),
    version: int(o.version, `${path}.version`),
    action: o.action as Action,
    from: colourWeight(o.from, `${path}.from`),
    to: colourWeight(o.to, `${path}.to`),
    actor: str(o.actor, `${path}.actor`),
    reason: str(o.reason, `${path}.reason`),
    ...(o.service === undefined ? {} : { service: str(o.service, `${path}.service`) }),
  };
}

/** Parses a state file's text; throws an Error whose message says what is wrong and where. */
export function parseStateFile(text: string): StoredState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`not valid JSON (${(err as Error).message})`);
  }
  try {
    const o = obj(json, 'file');
    if (o.format !== FILE_FORMAT) fail('format', `must be "${FILE_FORMAT}"`);
    const state = checkState(o.state);
    if (!Array.isArray(o.events)) fail('events', 'must be an array');
    const events = o.events.map((e, i) => checkEvent(e, `events[${i}]`));
    return { state, events };
  } catch (err) {
    if (err instanceof ShapeError) throw new Error(`not a Turnout state file: ${err.message}`);
    throw err;
  }
}

export function serializeStateFile(state: RoutingState, events: readonly AuditEvent[]): string {
  const file: StateFile = { format: FILE_FORMAT, state, events };
  return JSON.stringify(file) + '\n';
}
