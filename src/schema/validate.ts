// One input checked against its one schema: the passes of prepare.ts around the shared strict Ajv
// (ajv.ts), every problem as an issue naming its field (issues.ts). Used by the config loader and
// the rollout and verification specs; the admin routes run the same Ajv through fastify.
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { Static, TSchema } from 'typebox';
import { sharedAjv } from './ajv.ts';
import { locateAjv, settle, type Issue, type Located, type Wording } from './issues.ts';
import { pointerSegments } from './path.ts';
import { finish, invalidPointers, prepare, type PrepareOptions } from './prepare.ts';

export interface CheckOptions extends PrepareOptions {
  readonly wording: Wording;
}

export interface Checked {
  /** The value with defaults and normalisation; invalid parts left out (undefined: the whole value). */
  readonly value: unknown;
  /** Every problem, located, not yet sorted (callers add cross-field issues, then settle()). */
  readonly issues: Located[];
}

const compiled = new WeakMap<object, ValidateFunction>();

/** The shared Ajv's validator of `schema` (compiled once). */
export function validatorOf(schema: TSchema): ValidateFunction {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    validate = sharedAjv().compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

/** Prepares, validates and finishes `raw`; never throws for bad input, never touches `raw`. */
export function checkValue(schema: TSchema, raw: unknown, options: CheckOptions): Checked {
  const root = options.root ?? '';
  const issues: Located[] = [];
  const prepared = prepare(schema, raw, issues, options);
  // A `${VAR}` that could not be expanded has its issue; Ajv's view of the raw text would only repeat it.
  const unexpanded = invalidPointers(issues);
  const validate = validatorOf(schema);
  if (!validate(prepared)) {
    for (const issue of locateAjv(enrich(validate.errors ?? [], schema, prepared), options.wording, root)) {
      if (![...unexpanded].some((p) => issue.pointer === p || issue.pointer.startsWith(`${p}/`))) issues.push(issue);
    }
  }
  const value = finish(schema, prepared, invalidPointers(issues), issues, root, options.wording);
  return { value: typeof value === 'symbol' ? undefined : value, issues };
}

/** checkValue for callers without cross-field rules: the value, or every issue sorted in the schema's order. */
export function check<T extends TSchema>(schema: T, raw: unknown, options: CheckOptions): { ok: true; value: Static<T> } | { ok: false; issues: Issue[] } {
  const { value, issues } = checkValue(schema, raw, options);
  return issues.length === 0 ? { ok: true, value: value as Static<T> } : { ok: false, issues: settle(issues, schema) };
}

/** What a verbose Ajv would have put on each error: its schema, the schema holding it, the value. */
function enrich(errors: readonly ErrorObject[], schema: TSchema, data: unknown): ErrorObject[] {
  return errors.map((e) => {
    if (e.parentSchema !== undefined) return e;
    const segments = e.schemaPath.replace(/^#/, '').split('/').slice(1).map((s) => decodeURIComponent(s).replace(/~1/g, '/').replace(/~0/g, '~'));
    const parentSchema = segments.slice(0, -1).reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], schema) as Record<string, unknown> | undefined;
    const value = pointerSegments(e.instancePath).reduce<unknown>((node, key) => (node as Record<string | number, unknown> | undefined)?.[key], data);
    return { ...e, parentSchema: parentSchema ?? {}, schema: parentSchema?.[e.keyword], data: value };
  });
}
