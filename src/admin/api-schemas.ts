// The admin API's response (and documentation-only request) schemas, for the OpenAPI document
// (openapi.ts, GET /api/v1/openapi.json). Response schemas describe; they never filter: the admin
// instance serializes with JSON.stringify (server.ts), so a field missing here is a documentation
// gap, not a field silently dropped from the answer. test/admin/openapi.test.ts checks real
// answers against these schemas, so the document cannot drift from what the server sends.
//
// JSON Schema 2020-12 as OpenAPI 3.1 uses it: a nullable value is `type: [T, 'null']`.
import { MAX_EVENTS_LIMIT, MAX_REASON } from './schemas.ts';

const colour = { type: 'string', enum: ['blue', 'green'] } as const;
const weight = { type: 'number', minimum: 0, maximum: 100, description: 'percent, at most 4 decimals' } as const;
const isoTime = { type: 'string', format: 'date-time' } as const;
const nullableIso = { type: ['string', 'null'], format: 'date-time' } as const;
const nullableMs = { type: ['number', 'null'], minimum: 0 } as const;
const count = { type: 'integer', minimum: 0 } as const;

const obj = (properties: Record<string, unknown>, description?: string) => ({
  type: 'object',
  required: Object.keys(properties),
  properties,
  ...(description ? { description } : {}),
});

export const ErrorBody = {
  $id: 'Error',
  ...obj({
    statusCode: { type: 'integer', minimum: 400, maximum: 599 },
    code: { type: 'string', pattern: '^TURNOUT_ERR_[A-Z_]+$', description: "the registry's name (docs/admin-api.md#error-codes)" },
    error: { type: 'string' },
    message: { type: 'string', description: 'names the offending field, e.g. body.weight must be <= 100' },
  }, 'CONTRACT §4 error body'),
  additionalProperties: false,
} as const;

const colourWeight = obj({ active: colour, weight });
const latency = obj({ p50: nullableMs, p90: nullableMs, p99: nullableMs }, 'milliseconds; null without a request in the window');
const windowSample = obj({ requests: count, errors: count, p99Ms: nullableMs });
const verificationSample = obj({ requests: count, errors: count, p99Ms: nullableMs, spanSeconds: { type: 'number', minimum: 0 } });
const analysisSettings = obj({
  intervalSeconds: { type: 'number', exclusiveMinimum: 0 },
  minRequests: count,
  maxErrorRate: { type: 'number', minimum: 0, maximum: 1 },
  maxP99Ms: { type: 'number', minimum: 0 },
  maxP99Ratio: { type: 'number', minimum: 1 },
  alpha: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 0.5 },
  minErrorRateDelta: { type: 'number', minimum: 0, maximum: 1 },
  p99ToleranceMs: { type: 'number', minimum: 0 },
});
const verdictResult = { type: 'string', enum: ['pass', 'fail', 'inconclusive'] } as const;
const rolloutStatus = { type: 'string', enum: ['running', 'paused', 'promoted', 'aborted'] } as const;
const step = obj({ weight, holdSeconds: { type: 'number', minimum: 0 } });

export const VerificationView = {
  $id: 'Verification',
  ...obj({
    id: { type: 'string' },
    status: { type: 'string', enum: ['running', 'verified', 'reverted', 'cancelled'] },
    colour,
    from: colour,
    startedAt: isoTime,
    until: isoTime,
    remainingSeconds: count,
    endedAt: nullableIso,
    reason: { type: 'string' },
    settings: obj({ seconds: { type: 'number', minimum: 1 }, ...analysisSettings.properties }),
    baseline: verificationSample,
    verdicts: {
      type: 'array',
      description: 'newest last',
      items: obj({ at: isoTime, result: verdictResult, reasons: { type: 'array', items: { type: 'string' } }, sample: verificationSample }),
    },
  }, 'CONTRACT §11: the current or last post-flip verification'),
} as const;

export const RolloutSummary = {
  $id: 'RolloutSummary',
  ...obj({
    id: { type: 'string' },
    status: rolloutStatus,
    canary: colour,
    step: count,
    steps: { type: 'integer', minimum: 1, description: 'the number of steps' },
    weight,
    reason: { type: 'string' },
    lastVerdict: { type: ['string', 'null'], enum: ['pass', 'fail', 'inconclusive', null] },
  }, "the current or last rollout's summary"),
} as const;

export const StateView = {
  $id: 'State',
  ...obj({
    version: count,
    active: colour,
    canary: obj({ colour, weight }),
    split: obj({ blue: weight, green: weight }, 'percent of traffic per colour; sums to 100'),
    sticky: obj({ by: { type: 'string', enum: ['cookie', 'header', 'ip'] }, cookie: { type: 'string' }, header: { type: 'string' } }),
    updatedAt: isoTime,
    rollout: { oneOf: [{ $ref: 'RolloutSummary#' }, { type: 'null' }] },
    idle: obj({ colour, since: nullableIso, free: { type: 'boolean' } }),
    verification: { oneOf: [{ $ref: 'Verification#' }, { type: 'null' }] },
  }, 'CONTRACT §4 GET /api/v1/state'),
} as const;

export const AuditEvent = {
  $id: 'Event',
  ...obj({
    at: isoTime,
    version: count,
    action: {
      type: 'string',
      enum: ['weight', 'flip', 'rollback', 'rollout.start', 'rollout.step', 'rollout.pause', 'rollout.resume', 'rollout.promote', 'rollout.abort', 'shadow', 'flip.verified', 'flip.revert'],
    },
    from: colourWeight,
    to: colourWeight,
    actor: { type: 'string' },
    reason: { type: 'string' },
    service: { type: 'string', description: 'CONTRACT §10: the service the event belongs to (`default` for a single-service config)' },
  }),
} as const;

export const RolloutView = {
  $id: 'Rollout',
  ...obj({
    id: { type: 'string' },
    status: rolloutStatus,
    canary: colour,
    stable: colour,
    step: { ...count, description: 'index into steps (0-based)' },
    weight,
    steps: { type: 'array', items: step },
    analysisSettings,
    onSuccess: { type: 'string', enum: ['promote'] },
    analysis: {
      type: 'array',
      description: 'verdicts, newest last',
      items: obj({
        result: verdictResult,
        reasons: { type: 'array', items: { type: 'string' } },
        checks: {
          type: 'array',
          items: obj({ metric: { type: 'string', enum: ['requests', 'errorRate', 'p99Ms', 'p99Ratio', 'errorRateVsStable'] }, result: verdictResult, reason: { type: 'string' } }),
        },
        canary: windowSample,
        stable: windowSample,
        at: isoTime,
        step: count,
        weight,
        spanSeconds: { type: 'number', minimum: 0 },
      }),
    },
    reason: { type: 'string' },
    startedAt: isoTime,
    stepStartedAt: isoTime,
    holdUntil: nullableIso,
    pausedAt: nullableIso,
    endedAt: nullableIso,
  }, 'CONTRACT §4 a progressive rollout'),
} as const;

const targetSummary = obj({
  url: { type: 'string' },
  healthy: { type: 'boolean' },
  requests: count,
  errors: count,
  errorRate: { type: 'number', minimum: 0, maximum: 1 },
  latencyMs: latency,
  inFlight: count,
});
const colourSummary = obj({
  healthy: { type: 'boolean' },
  requests: count,
  errors: count,
  errorRate: { type: 'number', minimum: 0, maximum: 1 },
  latencyMs: latency,
  inFlight: count,
  retries: count,
  targets: { type: 'array', items: targetSummary },
});

export const UpstreamsView = {
  $id: 'Upstreams',
  ...obj({ windowSeconds: { type: 'number', exclusiveMinimum: 0 }, colours: obj({ blue: colourSummary, green: colourSummary }) }, 'over the sliding window'),
} as const;

export const OverrideLink = {
  $id: 'OverrideLink',
  type: 'object',
  required: ['colour', 'expiresAt', 'token', 'path', 'cookie', 'header'],
  properties: {
    colour: { type: 'string', enum: ['blue', 'green', 'canary', 'stable'] },
    expiresAt: isoTime,
    token: { type: 'string' },
    path: { type: 'string', description: 'the proxy path that sets the cookie' },
    link: { type: 'string', description: 'baseUrl + path, when baseUrl was given' },
    cookie: obj({ name: { type: 'string' }, value: { type: 'string' }, setCookie: { type: 'string' } }),
    header: obj({ name: { type: 'string' }, value: { type: 'string' } }),
  },
} as const;

/** Every shared schema, registered with app.addSchema (openapi.ts) so routes can `$ref` them. */
export const SHARED_SCHEMAS = [ErrorBody, VerificationView, RolloutSummary, StateView, AuditEvent, RolloutView, UpstreamsView, OverrideLink] as const;

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
export const changeHeaders = {
  type: 'object',
  properties: {
    'if-match': { type: 'string', description: 'a quoted version, e.g. "12": applies only if the state is still at it (412 otherwise); * for any' },
    'x-turnout-actor': { type: 'string', description: '1..64 printable ASCII characters; recorded in the event (default admin)' },
    'x-turnout-reason': { type: 'string', description: `at most ${MAX_REASON} printable characters; the body's reason wins` },
  },
} as const;

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
  healthz: { tags: ['probes'], summary: 'Liveness', security: [], response: { 200: { ...obj({ status: { type: 'string', enum: ['ok'] } }), description: 'the process runs' } } },
  readyz: {
    tags: ['probes'],
    summary: 'Readiness: the active colour has a healthy target',
    security: [],
    response: { 200: { ...obj({ status: { type: 'string', enum: ['ready'] } }), description: 'ready' }, 503: error('the active colour has no healthy target') },
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
    description: 'Validated by rollout/spec.ts (weights strictly increasing, the last 100; every problem named); this schema documents it.',
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

/**
 * POST /api/v1/rollouts's body, for the document only (x-turnout-docs-only: the validator compiler
 * skips it, rollout/spec.ts validates; see createRollout above).
 */
export const rolloutBodyDoc = {
  'x-turnout-docs-only': true,
  type: 'object',
  required: ['steps'],
  additionalProperties: false,
  properties: {
    steps: { type: 'array', minItems: 1, items: step },
    analysis: { ...analysisSettings, required: [], description: 'thresholds and cadence; missing fields take the defaults' },
    onSuccess: { type: 'string', enum: ['promote'] },
    reason: { type: 'string', maxLength: MAX_REASON },
  },
} as const;
