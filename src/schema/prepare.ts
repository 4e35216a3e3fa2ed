// The passes around Ajv that a JSON Schema validator does not do, each guided by the same schema:
//   before:  defaults filled (copies, never the schema's own objects), a section written as null
//            (a YAML mapping whose children are all commented out) taken as absent, and, for the
//            config, `${VAR}` expanded in string values (numbers never expand: `port: "${P}"`
//            stays a type error);
//   after:   x-normalise (lower-casing, URL origin, or a named one: rules.ts) on the values that passed, then x-unique
//            (list items that are equal once normalised: `duplicate of x[0]`).
// Everything builds new values; the caller's object is never touched.
import { pick, locate, type Located, type Segments, type Wording } from './issues.ts';
import { normalised } from './rules.ts';

type Schema = Record<string, unknown>;

export interface PrepareOptions {
  /** `${VAR}` expansion of string values (the config); absent: strings stay as written. */
  readonly expand?: (value: string) => { ok: true; value: string } | { ok: false; message: string };
  /** Prefix of every issue path (`body`; '' for the config). */
  readonly root?: string;
  /** Fill the schema's defaults (default true); false where defaults are layered by the caller. */
  readonly defaults?: boolean;
}

/** The value with defaults filled, null sections absent and strings expanded; `issues` gets the expansion errors. */
export function prepare(schema: unknown, value: unknown, issues: Located[], options: PrepareOptions = {}): unknown {
  return walk(schema as Schema, value, [], issues, options, false);
}

function walk(schema: Schema | undefined, value: unknown, at: Segments, issues: Located[], options: PrepareOptions, isField: boolean): unknown {
  if (schema === undefined) return value;
  // A section written as null (its children all commented out) is absent; a value that admits null keeps it.
  if (value === null && (isField || 'default' in schema) && pick(schema, 'object') !== undefined && !admitsNull(schema)) value = undefined;
  if (value === undefined) {
    if (!('default' in schema) || options.defaults === false) return undefined;
    value = structuredClone(schema.default);
    if (value === null || typeof value !== 'object') return value;
  }
  if (isPlainObject(value)) {
    const object = pick(schema, 'object');
    if (object === undefined) return value;
    const properties = (object.properties ?? {}) as Record<string, Schema>;
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(properties)) {
      const result = walk(field, Object.hasOwn(value, key) ? value[key] : undefined, [...at, key], issues, options, true);
      if (result !== undefined) out[key] = result;
    }
    // Unknown fields are copied as they are, for Ajv to name (a `__proto__` key stays a plain key).
    for (const key of Object.keys(value)) {
      if (!Object.hasOwn(properties, key)) Object.defineProperty(out, key, { value: value[key], enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  if (Array.isArray(value)) {
    const items = pick(schema, 'array')?.items as Schema | undefined;
    return value.map((item, i) => walk(items, item, [...at, i], issues, options, false));
  }
  if (typeof value === 'string' && options.expand && schema.type === 'string') {
    const expanded = options.expand(value);
    if (expanded.ok) return expanded.value;
    issues.push(locate(options.root ?? '', at, expanded.message, 'expand'));
  }
  return value;
}

/**
 * After validation: normalises the values that passed and checks x-unique lists, into `issues`.
 * `invalid` holds the pointers of values that failed (they, and what is under them, are left out,
 * so that later cross-field rules see only checked values).
 */
export function finish(schema: unknown, value: unknown, invalid: ReadonlySet<string>, issues: Located[], root = '', wording: Wording = 'config'): unknown {
  return after(schema as Schema, value, [], '', invalid, issues, root, wording === 'api' ? 'is a duplicate of' : 'duplicate of');
}

const INVALID = Symbol('invalid');

function after(schema: Schema | undefined, value: unknown, at: Segments, pointer: string, invalid: ReadonlySet<string>, issues: Located[], root: string, duplicate: string): unknown {
  if (invalid.has(pointer)) return INVALID;
  if (schema === undefined) return value;
  if (isPlainObject(value)) {
    const object = pick(schema, 'object');
    const properties = (object?.properties ?? {}) as Record<string, Schema>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      if (!Object.hasOwn(properties, key)) continue; // an unknown field: reported, left out
      const result = after(properties[key], value[key], [...at, key], `${pointer}/${escape(key)}`, invalid, issues, root, duplicate);
      if (result !== INVALID) out[key] = result;
    }
    return out;
  }
  if (Array.isArray(value)) {
    const list = pick(schema, 'array');
    const items = list?.items as Schema | undefined;
    const out: unknown[] = [];
    const seen = new Map<unknown, number>();
    value.forEach((item, i) => {
      const result = after(items, item, [...at, i], `${pointer}/${i}`, invalid, issues, root, duplicate);
      if (result === INVALID) return;
      const first = seen.get(result);
      if (list?.['x-unique'] === true && first !== undefined) {
        const path = locate(root, at, '').path;
        issues.push(locate(root, [...at, i], `${duplicate} ${path}[${first}]`, 'x-unique'));
        return;
      }
      seen.set(result, i);
      out.push(result);
    });
    return out;
  }
  if (typeof value === 'string') {
    const how = schema['x-normalise'] ?? pick(schema, 'string')?.['x-normalise'];
    if (typeof how === 'string') return normalised(how, value);
  }
  return value;
}

/** The pointers of the values Ajv's errors are about (a missing field has none: nothing to leave out). */
export function invalidPointers(issues: readonly Located[]): Set<string> {
  const out = new Set<string>();
  for (const issue of issues) {
    if (issue.keyword === 'required') continue;
    out.add(issue.keyword === 'additionalProperties' ? locate('', issue.at, '').pointer : issue.pointer);
  }
  return out;
}

function admitsNull(schema: Schema): boolean {
  if (schema.nullable === true || schema.type === 'null') return true;
  if (Array.isArray(schema.type) && schema.type.includes('null')) return true;
  const branches = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  return branches?.some((b) => b.type === 'null') ?? false;
}

function escape(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
