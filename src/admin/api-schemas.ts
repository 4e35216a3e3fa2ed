// The admin API's response (and documentation-only request) schemas, for the OpenAPI document
// (openapi.ts, GET /api/v1/openapi.json). Response schemas describe; they never filter: the admin
// instance serializes with JSON.stringify (server.ts), so a field missing here is a documentation
// gap, not a field silently dropped from the answer. test/admin/openapi.test.ts checks real
// answers against these schemas, so the document cannot drift from what the server sends.
//
// TypeBox, so each schema is also the TypeScript type of the answer (`StateView` is both).
import { Type, type Static, type TSchema } from 'typebox';
import { AnalysisSettingsSchema, RolloutSpecSchema, RolloutStepSchema, VerifySettingsSchema } from '../rollout/spec.ts';
import { weightSchema } from '../schema/common.ts';
import { MAX_EVENTS_LIMIT, MAX_REASON } from './schemas.ts';

const colour = Type.Union([Type.Literal('blue'), Type.Literal('green')]);
const weight = weightSchema();
const isoTime = Type.String({ format: 'date-time' });
const nullableIso = Type.Union([isoTime, Type.Null()]);
const nullableMs = Type.Union([Type.Number({ minimum: 0 }), Type.Null()]);
const count = Type.Integer({ minimum: 0 });
const strings = Type.Array(Type.String());
const nullableRef = (id: string) => Type.Union([Type.Unsafe({ $ref: `${id}#` }), Type.Null()]);

export const ErrorBody = Type.Object(
  {
    statusCode: Type.Integer({ minimum: 400, maximum: 599 }),
    code: Type.String({ pattern: '^TURNOUT_ERR_[A-Z_]+$', description: "the registry's name (docs/admin-api.md#error-codes)" }),
    error: Type.String(),
    message: Type.String({ description: 'names the offending field, e.g. body.weight must be <= 100' }),
  },
  { $id: 'Error', description: 'CONTRACT §4 error body', additionalProperties: false },
);
export type ErrorBody = Static<typeof ErrorBody>;

const colourWeight = Type.Object({ active: colour, weight });
const latency = Type.Object({ p50: nullableMs, p90: nullableMs, p99: nullableMs }, { description: 'milliseconds; null without a request in the window' });
const windowSample = Type.Object({ requests: count, errors: count, p99Ms: nullableMs });
const verificationSample = Type.Object({ requests: count, errors: count, p99Ms: nullableMs, spanSeconds: Type.Number({ minimum: 0 }) });
const verdictResult = Type.Union([Type.Literal('pass'), Type.Literal('fail'), Type.Literal('inconclusive')]);
const rolloutStatus = Type.Union([Type.Literal('running'), Type.Literal('paused'), Type.Literal('promoted'), Type.Literal('aborted')]);

export const VerificationView = Type.Object(
  {
    id: Type.String(),
    status: Type.Union([Type.Literal('running'), Type.Literal('verified'), Type.Literal('reverted'), Type.Literal('cancelled')]),
    colour,
    from: colour,
    startedAt: isoTime,
    until: isoTime,
    remainingSeconds: count,
    endedAt: nullableIso,
    reason: Type.String(),
    settings: VerifySettingsSchema,
    baseline: verificationSample,
    verdicts: Type.Array(Type.Object({ at: isoTime, result: verdictResult, reasons: strings, sample: verificationSample }), { description: 'newest last' }),
  },
  { $id: 'Verification', description: 'CONTRACT §11: the current or last post-flip verification' },
);
export type VerificationView = Static<typeof VerificationView>;

export const RolloutSummary = Type.Object(
  {
    id: Type.String(),
    status: rolloutStatus,
    canary: colour,
    step: count,
    steps: Type.Integer({ minimum: 1, description: 'the number of steps' }),
    weight,
    reason: Type.String(),
    lastVerdict: Type.Union([verdictResult, Type.Null()]),
  },
  { $id: 'RolloutSummary', description: "the current or last rollout's summary" },
);
export type RolloutSummary = Static<typeof RolloutSummary>;

export const StateView = Type.Object(
  {
    version: count,
    active: colour,
    canary: Type.Object({ colour, weight }),
    split: Type.Object({ blue: weight, green: weight }, { description: 'percent of traffic per colour; sums to 100' }),
    sticky: Type.Object({ by: Type.Union([Type.Literal('cookie'), Type.Literal('header'), Type.Literal('ip')]), cookie: Type.String(), header: Type.String() }),
    updatedAt: isoTime,
    rollout: nullableRef('RolloutSummary'),
    idle: Type.Object({ colour, since: nullableIso, free: Type.Boolean() }),
    verification: nullableRef('Verification'),
  },
  { $id: 'State', description: 'CONTRACT §4 GET /api/v1/state' },
);
export type StateView = Static<typeof StateView>;

export const AuditEvent = Type.Object(
  {
    at: isoTime,
    version: count,
    action: Type.Union(
      ['weight', 'flip', 'rollback', 'rollout.start', 'rollout.step', 'rollout.pause', 'rollout.resume', 'rollout.promote', 'rollout.abort', 'shadow', 'flip.verified', 'flip.revert'].map((a) => Type.Literal(a)),
    ),
    from: colourWeight,
    to: colourWeight,
    actor: Type.String(),
    reason: Type.String(),
    service: Type.String({ description: 'CONTRACT §10: the service the event belongs to (`default` for a single-service config)' }),
  },
  { $id: 'Event' },
);
export type AuditEvent = Static<typeof AuditEvent>;

const check = Type.Object({
  metric: Type.Union(['requests', 'errorRate', 'p99Ms', 'p99Ratio', 'errorRateVsStable'].map((m) => Type.Literal(m))),
  result: verdictResult,
  reason: Type.String(),
});

export const RolloutView = Type.Object(
  {
    id: Type.String(),
    status: rolloutStatus,
    canary: colour,
    stable: colour,
    step: Type.Integer({ minimum: 0, description: 'index into steps (0-based)' }),
    weight,
    steps: Type.Array(RolloutStepSchema),
    analysisSettings: AnalysisSettingsSchema,
    onSuccess: Type.Literal('promote'),
    analysis: Type.Array(
      Type.Object({
        result: verdictResult,
        reasons: strings,
        checks: Type.Array(check),
        canary: windowSample,
        stable: windowSample,
        at: isoTime,
        step: count,
        weight,
        spanSeconds: Type.Number({ minimum: 0 }),
      }),
      { description: 'verdicts, newest last' },
    ),
    reason: Type.String(),
    startedAt: isoTime,
    stepStartedAt: isoTime,
    holdUntil: nullableIso,
    pausedAt: nullableIso,
    endedAt: nullableIso,
  },
  { $id: 'Rollout', description: 'CONTRACT §4 a progressive rollout' },
);
export type RolloutView = Static<typeof RolloutView>;

const targetSummary = Type.Object({
  url: Type.String(),
  healthy: Type.Boolean(),
  requests: count,
  errors: count,
  errorRate: Type.Number({ minimum: 0, maximum: 1 }),
  latencyMs: latency,
  inFlight: count,
});
const colourSummary = Type.Object({
  healthy: Type.Boolean(),
  requests: count,
  errors: count,
  errorRate: Type.Number({ minimum: 0, maximum: 1 }),
  latencyMs: latency,
  inFlight: count,
  retries: count,
  targets: Type.Array(targetSummary),
});

export const UpstreamsView = Type.Object(
  { windowSeconds: Type.Number({ exclusiveMinimum: 0 }), colours: Type.Object({ blue: colourSummary, green: colourSummary }) },
  { $id: 'Upstreams', description: 'over the sliding window' },
);
export type UpstreamsView = Static<typeof UpstreamsView>;

export const OverrideLink = Type.Object(
  {
    colour: Type.Union([Type.Literal('blue'), Type.Literal('green'), Type.Literal('canary'), Type.Literal('stable')]),
    expiresAt: isoTime,
    token: Type.String(),
    path: Type.String({ description: 'the proxy path that sets the cookie' }),
    link: Type.Optional(Type.String({ description: 'baseUrl + path, when baseUrl was given' })),
    cookie: Type.Object({ name: Type.String(), value: Type.String(), setCookie: Type.String() }),
    header: Type.Object({ name: Type.String(), value: Type.String() }),
  },
  { $id: 'OverrideLink' },
);
export type OverrideLink = Static<typeof OverrideLink>;

/** Every shared schema, registered with app.addSchema (openapi.ts) so routes can `$ref` them. */
export const SHARED_SCHEMAS: ReadonlyArray<TSchema & { $id: string }> = [ErrorBody, VerificationView, RolloutSummary, StateView, AuditEvent, RolloutView, UpstreamsView, OverrideLink] as unknown as Array<TSchema & { $id: string }>;

/** For a route plugin registered on its own (a bare fastify in a test): adds the shared schemas its context lacks. */
export function ensureSharedSchemas(app: { getSchema(id: string): unknown; addSchema(schema: object): unknown }): void {
  for (const schema of SHARED_SCHEMAS) if (app.getSchema(schema.$id) === undefined) app.addSchema(schema);
}

const ref = (id: string) => ({ $ref: `${id}#` });
const error = (description: string) => ({ ...ref('Error'), description });
const ok = (id: string, description: string) => ({ ...ref(id), description });

/** Errors every token-protected route can answer. */
const apiErrors = {
  401: error('missing or wrong bearer token'),
  403: error('Host not allowed (admin.allowedHosts)'),
} as const;

/** Errors of every change: validation, the version guard, the state store. */
const changeErrors = {
  ...apiErrors,
  400: error('a body, header or If-Match that is not valid (the message names the field)'),
  412: error('If-Match no longer matches'),
  413: error('body over the limit'),
  415: error('a body that is not application/json'),
  500: error('the change could not be saved; nothing changed'),
  503: error('the shared state store (state.store: redis) cannot be reached; nothing changed'),
} as const;

/** The headers every change reads (CONTRACT §4). Declared as strings only; routes-state.ts checks them. */
export const changeHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ description: 'a quoted version, e.g. "12": applies only if the state is still at it (412 otherwise); * for any' })),
  'x-turnout-actor': Type.Optional(Type.String({ description: '1..64 printable ASCII characters; recorded in the event (default admin)' })),
  'x-turnout-reason': Type.Optional(Type.String({ description: `at most ${MAX_REASON} printable characters; the body's reason wins` })),
});

/** `schema` for the routes, by route. Tags group them in the document. */
export const routeDocs = {
  getState: { tags: ['state'], summary: 'The routing state', response: { 200: ok('State', 'the routing state; ETag: its version'), ...apiErrors } },
  putCanary: { tags: ['state'], summary: 'Set the canary weight', headers: changeHeaders, response: { 200: ok('State', 'the new state'), ...changeErrors } },
  flip: {
    tags: ['state'],
    summary: 'Flip: the idle colour becomes active, weight 0',
    description: 'verify: { seconds, …thresholds } starts a post-flip verification (CONTRACT §11); false flips without one; absent → routing.verify',
    headers: changeHeaders,
    response: { 200: ok('State', 'the new state'), ...changeErrors, 409: error('a rollout is running or paused') },
  },
  rollback: {
    tags: ['state'],
    summary: 'Weight back to 0, else undo the last flip',
    headers: changeHeaders,
    response: { 200: ok('State', 'the new state'), ...changeErrors, 409: error('nothing to roll back') },
  },
  revert: {
    tags: ['verification'],
    summary: 'Revert now: end the verification and flip back',
    headers: changeHeaders,
    response: { 200: ok('State', 'the new state (flip.revert)'), ...changeErrors, 404: error('no verification ever ran'), 409: error('no verification is running') },
  },
  getVerification: { tags: ['verification'], summary: 'The current or last verification', response: { 200: ok('Verification', 'the verification'), ...apiErrors, 404: error('no verification ever ran') } },
  events: {
    tags: ['state'],
    summary: 'The audit log, newest first',
    response: { 200: { type: 'array', items: ref('Event'), description: 'events, newest first' }, ...apiErrors, 400: error(`limit is not an integer 1..${MAX_EVENTS_LIMIT}`) },
  },
  healthz: { tags: ['probes'], summary: 'Liveness', security: [], response: { 200: Type.Object({ status: Type.Literal('ok') }, { description: 'the process runs' }) } },
  readyz: {
    tags: ['probes'],
    summary: 'Readiness: the active colour has a healthy target',
    security: [],
    response: { 200: Type.Object({ status: Type.Literal('ready') }, { description: 'ready' }), 503: error('the active colour has no healthy target') },
  },
  metrics: {
    tags: ['probes'],
    summary: 'Prometheus text format (every name starts with turnout_)',
    security: [],
    produces: ['text/plain'],
    response: { 200: { type: 'string', description: 'Prometheus text exposition format 0.0.4' } },
  },
  fleet: {
    tags: ['fleet'],
    summary: 'The replicas of the fleet, this one marked self (CONTRACT §6)',
    response: { 200: { type: 'object', additionalProperties: true, description: '{ version, replicas: [{ id, self, startedAt, lastSeen, appliedVersion, workers, leader }] }' }, ...apiErrors },
  },
  getShadow: {
    tags: ['shadow'],
    summary: 'Shadow comparison of the idle colour on real traffic (CONTRACT §9)',
    response: {
      200: { type: 'object', additionalProperties: true, description: '{ percent, compared, mismatches, mismatchRate, byKind, noise, samples, results, dropped }' },
      ...apiErrors,
      404: error('this server has no shadow comparison'),
    },
  },
  putShadow: {
    tags: ['shadow'],
    summary: 'Set the shadow percent (an audited `shadow` event)',
    headers: changeHeaders,
    response: { 200: { type: 'object', additionalProperties: true, description: 'the shadow view after the change' }, ...changeErrors },
  },
  upstreams: { tags: ['upstreams'], summary: "Each colour's and target's health and recent traffic", response: { 200: ok('Upstreams', 'health and traffic'), ...apiErrors } },
  createRollout: {
    tags: ['rollouts'],
    summary: 'Start a progressive rollout',
    description: 'The body is rollout/spec.ts\'s schema; weights must increase from step to step (checked after the schema).',
    headers: changeHeaders,
    response: { 201: ok('Rollout', 'the rollout started'), ...changeErrors, 409: error('a rollout is running or paused') },
  },
  currentRollout: { tags: ['rollouts'], summary: 'The current or last rollout', response: { 200: ok('Rollout', 'the rollout'), ...apiErrors, 404: error('no rollout ever ran') } },
  rolloutAction: (action: string) => ({
    tags: ['rollouts'],
    summary: `${action[0]!.toUpperCase()}${action.slice(1)} the current rollout`,
    headers: changeHeaders,
    response: { 200: ok('Rollout', 'the rollout'), ...changeErrors, 404: error('no rollout ever ran'), 409: error('the rollout is not running or paused') },
  }),
  overrideLinks: {
    tags: ['overrides'],
    summary: 'Mint a signed override link (try a colour)',
    response: { 201: ok('OverrideLink', 'the signed value, as a link, a cookie and a header'), ...apiErrors, 400: error('a body that is not valid'), 409: error('routing.override.secret is not set') },
  },
} as const;

/** POST /api/v1/rollouts's body: rollout/spec.ts's schema and the event's `reason`. */
export const rolloutBody = Type.Object(
  { ...RolloutSpecSchema.properties, reason: Type.Optional(Type.String({ maxLength: MAX_REASON })) },
  { additionalProperties: false, description: 'steps (weights strictly increasing), analysis thresholds (missing fields take the defaults), onSuccess' },
);
export type RolloutBody = Static<typeof rolloutBody>;
/** The former name (the body was documentation only; it now validates). */
export const rolloutBodyDoc = rolloutBody;
