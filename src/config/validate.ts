// Walks a raw (parsed YAML/JSON) value against the schema of schema.ts: expands `${VAR}` in
// strings, checks types strictly (no coercion), applies defaults, and collects EVERY issue with
// its field path instead of stopping at the first. Builds a new value; never touches the input.
import type { ArraySpec, ObjectSpec, Spec, StringSpec } from './schema.ts';
import { expandEnv } from './expand.ts';

export interface ConfigIssue {
  /** Field path in `a.b[0].c` form; empty for the document itself. */
  readonly path: string;
  readonly message: string;
}

export interface ValidationContext {
  readonly env: NodeJS.ProcessEnv;
  readonly issues: ConfigIssue[];
}

/**
 * Marks a value that had issues (and is left out of its parent). Only a result built with no
 * issue at all (`ctx.issues` empty) is a valid config.
 */
export const INVALID: unique symbol = Symbol('invalid');
type Result = unknown;

export function validate(spec: Spec, value: unknown, path: string, ctx: ValidationContext): Result {
  switch (spec.kind) {
    case 'object':
      return validateObject(spec, value, path, ctx);
    case 'array':
      return validateArray(spec, value, path, ctx);
    case 'string':
      return validateString(spec, value, path, ctx);
    case 'enum': {
      if (value === undefined) return spec.default;
      const s = readString(value, path, ctx);
      if (s === INVALID) return INVALID;
      if (spec.values.includes(s)) return s;
      return fail(ctx, path, `must be one of ${spec.values.join(', ')}, got ${describe(s)}`);
    }
    case 'boolean':
      if (value === undefined) return spec.default;
      return typeof value === 'boolean' ? value : fail(ctx, path, `must be true or false, got ${describe(value)}`);
    case 'integer':
    case 'number': {
      if (value === undefined) return spec.default;
      const words = spec.kind === 'integer' ? spec.words : undefined;
      if (words !== undefined && typeof value === 'string' && words.includes(value)) return value;
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        const expected = spec.kind === 'integer' ? `an integer${words ? ` or ${words.map((w) => `"${w}"`).join(', ')}` : ''}` : 'a number';
        return fail(ctx, path, `must be ${expected}, got ${describe(value)}`);
      }
      if (spec.kind === 'integer' && !Number.isInteger(value)) return fail(ctx, path, `must be an integer, got ${value}`);
      if (value < spec.min || value > spec.max) return fail(ctx, path, `must be between ${spec.min} and ${spec.max}, got ${value}`);
      const message = spec.kind === 'number' ? spec.rule?.(value) : undefined;
      return message === undefined ? value : fail(ctx, path, message);
    }
  }
}

function validateObject(spec: ObjectSpec, value: unknown, path: string, ctx: ValidationContext): Result {
  // A YAML section whose children are all commented out parses as null: treat it as absent.
  if (value === undefined || value === null) {
    if (spec.nullable) return null;
    if (spec.requiredHint !== undefined) return fail(ctx, path, `required: ${spec.requiredHint}`);
    value = {};
  }
  if (!isPlainObject(value)) return fail(ctx, path, `must be a mapping of fields, got ${describe(value)}`);
  const known = Object.keys(spec.fields);
  for (const key of Object.keys(value)) {
    if (Object.hasOwn(spec.fields, key)) continue;
    const guess = closest(key, known);
    ctx.issues.push({ path: child(path, key), message: `unknown field${guess ? ` (did you mean "${guess}"?)` : ''}` });
  }
  // Invalid children are left out but siblings still build, so cross-field rules can run on a
  // partial result and report their issues in the same pass.
  const out: Record<string, unknown> = {};
  for (const key of known) {
    const result = validate(spec.fields[key] as Spec, Object.hasOwn(value, key) ? value[key] : undefined, child(path, key), ctx);
    if (result !== INVALID && result !== undefined) out[key] = result;
  }
  return out;
}

function validateArray(spec: ArraySpec, value: unknown, path: string, ctx: ValidationContext): Result {
  if (value === undefined) {
    // A fresh copy: the result is frozen, the schema's default must stay reusable.
    return spec.default ? [...spec.default] : fail(ctx, path, `required: a non-empty list`);
  }
  if (!Array.isArray(value)) return fail(ctx, path, `must be a list, got ${describe(value)}`);
  if (spec.minItems !== undefined && value.length < spec.minItems) return fail(ctx, path, 'must not be empty');
  const out: unknown[] = [];
  const seen = new Map<unknown, number>(); // normalised value → first index
  value.forEach((item: unknown, i) => {
    const itemPath = `${path}[${i}]`;
    const result = validate(spec.items, item, itemPath, ctx);
    if (result === INVALID) return;
    const first = seen.get(result);
    if (spec.unique && first !== undefined) {
      ctx.issues.push({ path: itemPath, message: `duplicate of ${path}[${first}]` });
      return;
    }
    seen.set(result, i);
    out.push(result);
  });
  return out;
}

function validateString(spec: StringSpec, value: unknown, path: string, ctx: ValidationContext): Result {
  if (value === undefined) {
    if (spec.default !== undefined) return spec.default;
    if (spec.optional) return undefined;
    return fail(ctx, path, spec.requiredHint ? `required: ${spec.requiredHint}` : 'required');
  }
  const s = readString(value, path, ctx);
  if (s === INVALID) return INVALID;
  const message = spec.rule?.(s);
  if (message !== undefined) return fail(ctx, path, message);
  return spec.normalise ? spec.normalise(s) : s;
}

/** A string value with `${VAR}` expanded, or INVALID (issue recorded). */
function readString(value: unknown, path: string, ctx: ValidationContext): string | typeof INVALID {
  if (typeof value !== 'string') return fail(ctx, path, `must be a string, got ${describe(value)}`);
  const expanded = expandEnv(value, ctx.env);
  return expanded.ok ? expanded.value : fail(ctx, path, expanded.message);
}

function fail(ctx: ValidationContext, path: string, message: string): typeof INVALID {
  ctx.issues.push({ path, message });
  return INVALID;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function child(path: string, key: string): string {
  const segment = /^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key);
  if (path === '') return segment;
  return segment.startsWith('"') ? `${path}[${segment}]` : `${path}.${segment}`;
}

/** What the wrong value was, briefly; strings are quoted (and cut) so "8" reads apart from 8. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${String(value)}`;
}

/** The known field a typo most likely meant (edit distance ≤ 2, or a case difference). */
function closest(key: string, known: readonly string[]): string | undefined {
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
