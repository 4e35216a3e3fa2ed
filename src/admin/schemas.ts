// The admin API's request schemas, in TypeBox: each gives the route's TypeScript type (Static),
// the strict validator fastify runs (schema/ajv.ts: no coercion, unknown fields rejected, every
// error at once), and the OpenAPI description (openapi.ts). Messages name the field:
// `body.weight must be <= 100; body.foo is not allowed (known fields: weight, reason)`.
import type { ErrorObject } from 'ajv';
import type { FastifySchemaValidationError } from 'fastify';
import { Type, type Static } from 'typebox';
import { VerifyBodySchema } from '../rollout/spec.ts';
import { createAjv } from '../schema/ajv.ts';
import { weightSchema } from '../schema/common.ts';
import { apiMessage, issuesFromAjv } from '../schema/issues.ts';

export const MAX_REASON = 500;
export const MAX_ACTOR = 64;
export const MAX_EVENTS_LIMIT = 10_000;
export const DEFAULT_EVENTS_LIMIT = 100;

/** The strict Ajv of the admin routes (schema/ajv.ts, shared with every other input). */
export const createStrictAjv = createAjv;

const reason = Type.String({ maxLength: MAX_REASON, description: "why (the audit event's reason); wins over x-turnout-reason" });

/** PUT /api/v1/canary. */
export const canaryBody = Type.Object({ weight: weightSchema(), reason: Type.Optional(reason) }, { additionalProperties: false });
export type CanaryBody = Static<typeof canaryBody>;

/** PUT /api/v1/shadow (CONTRACT §9). */
export const shadowBody = Type.Object({ percent: weightSchema({ description: 'percent of eligible requests mirrored, at most 4 decimals' }), reason: Type.Optional(reason) }, { additionalProperties: false });
export type ShadowBody = Static<typeof shadowBody>;

/** POST /api/v1/rollback, /verification/revert and the rollout actions: no body, or `{ "reason": "…" }`. */
export const actionBody = Type.Object({ reason: Type.Optional(reason) }, { additionalProperties: false, nullable: true });
export type ActionBody = Static<typeof actionBody> | null;

/** POST /api/v1/flip: no body, `{ "reason" }`, and/or `{ "verify": {...} | false }` (CONTRACT §11, rollout/spec.ts). */
export const flipBody = Type.Object({ reason: Type.Optional(reason), verify: Type.Optional(VerifyBodySchema) }, { additionalProperties: false, nullable: true });
export type FlipBody = Static<typeof flipBody> | null;

/** GET /api/v1/events: querystrings are strings; the handler parses `limit` strictly. */
export const eventsQuery = Type.Object(
  { limit: Type.Optional(Type.String({ description: `an integer 1..${MAX_EVENTS_LIMIT}, default ${DEFAULT_EVENTS_LIMIT}` })) },
  { additionalProperties: false },
);
export type EventsQuery = Static<typeof eventsQuery>;

/** fastify's schemaErrorFormatter: one message naming every offending field (schema/issues.ts). */
export function formatValidationErrors(errors: readonly FastifySchemaValidationError[], dataVar: string): string {
  return apiMessage(issuesFromAjv(errors as unknown as ErrorObject[], 'api', dataVar));
}
