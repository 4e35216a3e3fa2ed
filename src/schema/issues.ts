// Ajv's errors → Turnout's issues: one `{ path, message }` per problem, every problem at once,
// each naming its field with the one path formatter (path.ts), sorted in the schema's order.
// Two wordings, one per kind of reader, both asserted by the tests:
//   config  (an operator reading a YAML file):  `listen.port: must be between 0 and 65535, got 65536`
//   api     (a client reading a 400):           `body.weight must be <= 100`
// Passes after validation: "did you mean" for unknown fields (edit distance ≤ 2), one issue per
// field (a type error hides the rest), and a union (anyOf) reported by the branch whose type the
// value has, else as one "must be X or Y".
import type { ErrorObject } from 'ajv';
import { childPath, pointerSegments } from './path.ts';

export interface Issue {
  /** Field path in `a.b[0].c` form; empty for the document itself (config). */
  readonly path: string;
  readonly message: string;
}

export type Wording = 'config' | 'api';

export type Segments = Array<string | number>;
/** An issue with where it is (segments, Ajv's pointer) and what found it, before sorting. */
export interface Located extends Issue {
  readonly at: Segments;
  readonly pointer: string;
  readonly keyword: string;
}
type Schema = Record<string, unknown>;

/**
 * The issues of one validation, in the schema's order (unknown fields first within a mapping).
 * `root` prefixes every path (`body`, `querystring`; '' for the config document).
 */
export function issuesFromAjv(errors: readonly ErrorObject[], wording: Wording, root = '', schema?: unknown): Issue[] {
  return settle(locateAjv(errors, wording, root), schema);
}

/** Sorted in the schema's order (when given; else as found), one issue per field, without the bookkeeping. */
export function settle(issues: readonly Located[], schema?: unknown): Issue[] {
  return dedupe(schema === undefined ? [...issues] : sortBySchema([...issues], schema));
}

/** An issue found outside Ajv (a `${VAR}`, a duplicate, a cross-field rule), at `at` under `root`. */
export function locate(root: string, at: Segments, message: string, keyword = 'x-rule'): Located {
  const pointer = at.map((k) => `/${String(k).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
  return { path: at.reduce<string>((p, key) => childPath(p, key), root), at, pointer, keyword, message };
}

/** Ajv's errors as located issues (unions resolved, messages worded), in Ajv's order. */
export function locateAjv(errors: readonly ErrorObject[], wording: Wording, root = ''): Located[] {
  const kept = resolveUnions(errors);
  const located: Located[] = [];
  for (const e of kept) {
    const at = pointerSegments(e.instancePath);
    const params = e.params as Record<string, unknown>;
    if (e.keyword === 'required') at.push(String(params.missingProperty));
    if (e.keyword === 'additionalProperties') at.push(String(params.additionalProperty));
    const path = at.reduce<string>((p, key) => childPath(p, key), root);
    located.push({ path, at, pointer: e.instancePath, keyword: e.keyword, message: message(e, wording, path === root && root !== '') });
  }
  return located;
}

/** `body.x is not allowed; body.weight must be <= 100`: the API's one-line message. */
export function apiMessage(issues: readonly Issue[]): string {
  return issues.map((i) => `${i.path} ${i.message}`).join('; ');
}

// --- passes -------------------------------------------------------------------------------

/** Drops the branch errors of unions, keeping the branch the value's type picks (see the header). */
function resolveUnions(errors: readonly ErrorObject[]): ErrorObject[] {
  const dropped = new Set<ErrorObject>();
  const unions = errors.filter((e) => e.keyword === 'anyOf').sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  for (const union of unions) {
    if (dropped.has(union)) continue;
    const branches = (union.schema as Schema[]) ?? [];
    const inBranch = (e: ErrorObject, i: number) => e.schemaPath.startsWith(`${union.schemaPath}/${i}/`) && e.instancePath.startsWith(union.instancePath);
    const matching = branches.map((b, i) => [b, i] as const).filter(([b]) => typeMatches(b, union.data));
    const only = matching.length === 1 ? matching[0] : undefined;
    const keep = only !== undefined && !isLiteral(only[0]) ? only[1] : -1;
    for (const e of errors) {
      if (e === union) continue;
      branches.forEach((_, i) => {
        if (i !== keep && inBranch(e, i)) dropped.add(e);
      });
    }
    if (keep !== -1) dropped.add(union);
  }
  return errors.filter((e) => !dropped.has(e));
}

/** One issue per field: a type error (or a union's) hides the other errors of its value; same messages once. */
function dedupe(issues: Located[]): Issue[] {
  const typed = new Set(issues.filter((i) => i.keyword === 'type' || i.keyword === 'anyOf').map((i) => i.pointer));
  const seen = new Set<string>();
  const out: Issue[] = [];
  for (const issue of issues) {
    if (typed.has(issue.pointer) && issue.keyword !== 'type' && issue.keyword !== 'anyOf' && issue.keyword !== 'required' && issue.keyword !== 'additionalProperties') continue;
    const key = `${issue.path}\u0000${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path: issue.path, message: issue.message });
  }
  return out;
}

function sortBySchema(issues: Located[], schema: unknown): Located[] {
  const keyed = issues.map((issue, i) => ({ issue, key: orderKey(schema, issue.at), i }));
  keyed.sort((a, b) => compareKeys(a.key, b.key) || a.i - b.i);
  return keyed.map((k) => k.issue);
}

/** For each segment: the field's index in its mapping's schema (unknown: -1), or the list index. */
function orderKey(schema: unknown, at: Segments): number[] {
  const key: number[] = [];
  let node = schema as Schema | undefined;
  for (const segment of at) {
    if (typeof segment === 'number') {
      key.push(segment);
      node = pick(node, 'array')?.items as Schema | undefined;
      continue;
    }
    const object = pick(node, 'object');
    const properties = (object?.properties ?? {}) as Record<string, Schema>;
    const index = Object.keys(properties).indexOf(segment);
    key.push(index);
    node = index === -1 ? undefined : properties[segment];
  }
  return key;
}

function compareKeys(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

/** The schema itself, or its union branch, of the given type. */
export function pick(schema: Schema | undefined, type: string): Schema | undefined {
  if (schema === undefined) return undefined;
  if (schema.type === type) return schema;
  const branches = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  return branches?.find((b) => b.type === type);
}

// --- messages -----------------------------------------------------------------------------

function message(e: ErrorObject, wording: Wording, isRoot: boolean): string {
  const parent = (e.parentSchema ?? {}) as Schema;
  const override = (parent['x-messages'] as Record<string, string> | undefined)?.[e.keyword];
  const params = e.params as Record<string, unknown>;
  const got = (text: string) => (wording === 'config' ? `${text}, got ${describe(e.data)}` : text);
  if (override !== undefined && e.keyword !== 'required' && e.keyword !== 'additionalProperties') return got(override);
  switch (e.keyword) {
    case 'type': {
      const expected = expectedOf({ type: e.schema }, wording, isRoot);
      if (wording === 'config' && e.schema === 'integer' && typeof e.data === 'number') return `must be an integer, got ${e.data}`;
      return got(`must be ${expected}`);
    }
    case 'anyOf':
      return got(`must be ${((e.schema as Schema[]) ?? []).filter((b) => b.type !== 'null').map((b) => expectedOf(b, wording, isRoot)).join(' or ')}`);
    case 'required': {
      if (wording === 'api') return 'is required';
      const field = ((parent.properties ?? {}) as Record<string, Schema>)[String(params.missingProperty)];
      const hint = field?.['x-hint'];
      return hint === undefined ? 'required' : `required: ${String(hint)}`;
    }
    case 'additionalProperties': {
      const known = Object.keys((parent.properties ?? {}) as object);
      const guess = closest(String(params.additionalProperty), known);
      if (wording === 'config') return `unknown field${guess ? ` (did you mean "${guess}"?)` : ''}`;
      return `is not allowed (${guess ? `did you mean "${guess}"?` : `known fields: ${known.join(', ')}`})`;
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      if (wording === 'config' && parent.minimum !== undefined && parent.maximum !== undefined) {
        return `must be between ${String(parent.minimum)} and ${String(parent.maximum)}, got ${String(e.data)}`;
      }
      return got(`must be ${String(params.comparison)} ${String(params.limit)}`);
    case 'minItems':
    case 'minLength':
      if (wording === 'config' && params.limit === 1) return 'must not be empty';
      return got(e.message ?? 'is too short');
    case 'enum':
      return wording === 'config' ? got(`must be one of ${(params.allowedValues as unknown[]).join(', ')}`) : (e.message ?? 'is invalid');
    case 'const':
      return got(`must be ${JSON.stringify(params.allowedValue)}`);
    case 'x-rule':
      return e.message ?? 'is invalid';
    default:
      return got(e.message ?? 'is invalid');
  }
}

/** "an integer", "a mapping of fields", "a JSON object", `"auto"`: what a schema asks for, in the reader's words. */
function expectedOf(schema: Schema, wording: Wording, isRoot: boolean): string {
  if ('const' in schema) return JSON.stringify(schema.const);
  const types = (Array.isArray(schema.type) ? schema.type : [schema.type]).filter((t) => t !== 'null' && t !== undefined) as string[];
  const words = types.map((type) => {
    if (wording === 'config') return CONFIG_WORDS[type] ?? `a ${type}`;
    if (type === 'object' && isRoot) return 'a JSON object';
    return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
  });
  return words.join(' or ') || 'valid';
}

const CONFIG_WORDS: Record<string, string> = {
  integer: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping of fields',
};

function typeMatches(schema: Schema, data: unknown): boolean {
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  return types.some((type) => {
    switch (type) {
      case 'null':
        return data === null;
      case 'object':
        return typeof data === 'object' && data !== null && !Array.isArray(data);
      case 'array':
        return Array.isArray(data);
      case 'integer':
      case 'number':
        return typeof data === 'number';
      case 'string':
      case 'boolean':
        return typeof data === type;
      default:
        return false;
    }
  });
}

function isLiteral(schema: Schema): boolean {
  return 'const' in schema || 'enum' in schema;
}

/** What the wrong value was, briefly; strings are quoted (and cut) so "8" reads apart from 8. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${String(value)}`;
}

/** The known field a typo most likely meant (edit distance ≤ 2, or a case difference). */
export function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = candidate.toLowerCase() === key.toLowerCase() ? 0 : distance(key, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost);
    }
    previous = current;
  }
  return previous[b.length] as number;
}
