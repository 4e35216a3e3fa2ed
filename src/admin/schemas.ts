// JSON schemas for the admin API, and the strict Ajv that checks them. PITFALLS: fastify's
// default Ajv coerces "8" → 8 and silently drops unknown properties; here nothing is coerced,
// nothing removed, unknown fields are errors, and every error is reported (allErrors).
import { Ajv } from 'ajv';
import type { FastifySchemaValidationError } from 'fastify';

export const MAX_REASON = 500;
export const MAX_ACTOR = 64;
export const MAX_EVENTS_LIMIT = 10_000;
export const DEFAULT_EVENTS_LIMIT = 100;

export function createStrictAjv(): Ajv {
  return new Ajv({
    coerceTypes: false,
    removeAdditional: false,
    useDefaults: false,
    allErrors: true,
    strict: true,
  });
}

const reason = { type: 'string', maxLength: MAX_REASON } as const;

/** PUT /api/v1/canary. The 4-decimal rule is checked after the schema (see routes-state.ts). */
export const canaryBody = {
  type: 'object',
  additionalProperties: false,
  required: ['weight'],
  properties: {
    weight: { type: 'number', minimum: 0, maximum: 100 },
    reason,
  },
} as const;

/** PUT /api/v1/shadow (CONTRACT §9). */
export const shadowBody = {
  type: 'object',
  additionalProperties: false,
  required: ['percent'],
  properties: {
    percent: { type: 'number', minimum: 0, maximum: 100 },
    reason,
  },
} as const;

/** POST /api/v1/flip and /rollback: no body, or `{ "reason": "…" }`. */
export const actionBody = {
  type: 'object',
  nullable: true,
  additionalProperties: false,
  properties: { reason },
} as const;

/**
 * POST /api/v1/flip: no body, `{ "reason" }`, and/or `{ "verify": {...} | false }` (CONTRACT §11).
 * `verify` is checked field by field by rollout/verification-spec.ts, whose messages name the field.
 */
export const flipBody = {
  type: 'object',
  nullable: true,
  additionalProperties: false,
  properties: { reason, verify: {} },
} as const;

/** GET /api/v1/events: querystrings are strings; the handler parses `limit` strictly. */
export const eventsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: { type: 'string', description: `an integer 1..${MAX_EVENTS_LIMIT}, default ${DEFAULT_EVENTS_LIMIT}` } },
} as const;

/** Ajv's `/steps/0/weight` → `body.steps[0].weight`. */
export function fieldPath(dataVar: string, instancePath: string): string {
  let path = dataVar;
  for (const part of instancePath.split('/').slice(1)) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    path += /^\d+$/.test(key) ? `[${key}]` : `.${key}`;
  }
  return path;
}

/** One message naming every offending field: `body.weight must be <= 100; body.foo is not allowed`. */
export function formatValidationErrors(errors: readonly FastifySchemaValidationError[], dataVar: string): string {
  const messages = errors.map((e) => {
    const at = fieldPath(dataVar, e.instancePath);
    const params = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'additionalProperties':
        return `${at}.${String(params.additionalProperty)} is not allowed`;
      case 'required':
        return `${at}.${String(params.missingProperty)} is required`;
      case 'type':
        return `${at} must be ${dataVar === at ? 'a JSON ' : 'a '}${String(params.type)}`;
      default:
        return `${at} ${e.message ?? 'is invalid'}`;
    }
  });
  return [...new Set(messages)].join('; ');
}
