// The one Ajv setup of every input, as fastify uses Ajv, but strict (PITFALLS: fastify's default
// coerces "8" → 8 and silently drops unknown properties): nothing coerced, nothing removed, every
// error reported (allErrors), each with the failing value and its schema for the formatter (issues.ts). Defaults are filled before validation by prepare.ts, not by Ajv: Ajv ignores a
// `default` under anyOf (a nullable section such as `preview`) and fills the caller's object.
//
// Turnout's schema keywords, all `x-` so an OpenAPI or JSON Schema reader skips them:
//   x-rule       a named check with its own message (rules.ts): `must not contain credentials`
//   x-hint       words appended to "required" (`required: a non-empty list`)
//   x-messages   { keyword: message } replacing a built-in keyword's message
//   x-normalise  lower | upper | origin, applied once the value passed (prepare.ts)
//   x-unique     list items must differ once normalised (prepare.ts), naming the first copy
//   x-docs       the type column of the config reference (docs.ts)
import { Ajv, type ErrorObject } from 'ajv';
import { ruleMessage } from './rules.ts';

const ANNOTATIONS = ['x-hint', 'x-messages', 'x-normalise', 'x-unique', 'x-docs'] as const;

/**
 * `verbose` (the default, for fastify's routes, whose error formatter sees only the errors) puts
 * the failing value and its schema on each error; without it (the shared instance, whose callers
 * have both at hand: validate.ts) compiling the config's schema costs about half as much.
 */
export function createAjv(options: { verbose?: boolean } = {}): Ajv {
  const ajv = new Ajv({
    coerceTypes: false,
    removeAdditional: false,
    useDefaults: false,
    allErrors: true,
    verbose: options.verbose ?? true,
    strict: true,
    allowUnionTypes: true,
    // Every schema here is compiled once at start-up and validates a config or an admin body:
    // Ajv's optimiser pass costs more (about 40 ms of the config's ~100 ms compile) than it saves.
    code: { optimize: false },
  });
  for (const keyword of ANNOTATIONS) ajv.addKeyword({ keyword });
  ajv.addKeyword({
    keyword: 'x-rule',
    schemaType: 'string',
    errors: true,
    validate: function check(name: string, data: unknown, parentSchema?: { type?: unknown }): boolean {
      // A value of the wrong type has its type error already; the rule judges values of its type.
      if (!ofType(data, parentSchema?.type)) return true;
      const message = ruleMessage(name, data);
      if (message === undefined) return true;
      (check as unknown as { errors: Partial<ErrorObject>[] }).errors = [{ keyword: 'x-rule', message, params: { rule: name } }];
      return false;
    },
  });
  return ajv;
}

function ofType(data: unknown, type: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof data === 'string';
    case 'number':
      return typeof data === 'number' && Number.isFinite(data);
    case 'integer':
      return Number.isInteger(data);
    default:
      return true;
  }
}

/** A shared instance for the parse functions of the inputs (config, rollout and verification specs). */
let shared: Ajv | undefined;
export function sharedAjv(): Ajv {
  shared ??= createAjv({ verbose: false });
  return shared;
}
