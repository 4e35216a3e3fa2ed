// The state routes (CONTRACT §4): read the state, set the canary weight, flip, roll back, read
// the audit log. Every change goes through StateManager (serialized, durable, audited).
//
// Who and why: the actor is `admin`, or the `x-turnout-actor` header (1..64 printable ASCII
// characters); the reason is the body's `reason` field, else the `x-turnout-reason` header
// (at most 500 printable characters), else empty. `If-Match: "<version>"` guards any change.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TurnoutError } from '../errors.ts';
import type { RoutingState } from '../state/model.ts';
import type { VerificationView } from '../rollout/verification-record.ts';
import type { ChangeMeta } from '../state/manager.ts';
import { eventsOf, type AdminService, type ServiceScope } from './services.ts';
import { actionBody, canaryBody, flipBody, DEFAULT_EVENTS_LIMIT, eventsQuery, MAX_ACTOR, MAX_EVENTS_LIMIT, MAX_REASON } from './schemas.ts';
import type { ActionBody, CanaryBody, EventsQuery, FlipBody } from './schemas.ts';
import { DEFAULT_STICKY, stateView } from './state-view.ts';
import { ensureSharedSchemas, routeDocs } from './api-schemas.ts';

const PRINTABLE = /^[\x20-\x7e]*$/;

/** What the routes need of the VerificationController (which satisfies it). */
export interface VerificationApi {
  flip(verify: unknown, meta: ChangeMeta): Promise<RoutingState>;
  revert(meta: ChangeMeta): Promise<RoutingState>;
  view(state?: RoutingState): VerificationView | null;
}

function badRequest(message: string): TurnoutError {
  return new TurnoutError('TURNOUT_ERR_BAD_REQUEST', message);
}

function singleHeader(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  if (Array.isArray(value)) throw badRequest(`headers.${name} must appear at most once`);
  return value;
}

/** `"12"` → 12; `*` → undefined (any version); anything else → 400. Weak tags never match (RFC 9110 §13.1.1). */
export function parseIfMatch(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '*') return undefined;
  const match = /^(W\/)?"(\d{1,15})"$/.exec(trimmed);
  if (!match) throw badRequest('headers.if-match must be a quoted version such as "12"');
  return match[1] ? -1 : Number(match[2]);
}

/** Builds the ChangeMeta of a change request from its headers and optional body reason. */
export function changeMeta(request: FastifyRequest, bodyReason: string | undefined): ChangeMeta {
  const actorHeader = singleHeader(request, 'x-turnout-actor');
  let actor = 'admin';
  if (actorHeader !== undefined) {
    const trimmed = actorHeader.trim();
    if (trimmed.length === 0 || trimmed.length > MAX_ACTOR || !PRINTABLE.test(trimmed)) {
      throw badRequest(`headers.x-turnout-actor must be 1..${MAX_ACTOR} printable ASCII characters`);
    }
    actor = trimmed;
  }
  const reasonHeader = singleHeader(request, 'x-turnout-reason');
  if (reasonHeader !== undefined && (reasonHeader.length > MAX_REASON || !PRINTABLE.test(reasonHeader))) {
    throw badRequest(`headers.x-turnout-reason must be at most ${MAX_REASON} printable ASCII characters`);
  }
  if (bodyReason !== undefined && /[\x00-\x1f\x7f]/.test(bodyReason)) {
    throw badRequest('body.reason must not contain control characters');
  }
  const meta: ChangeMeta = { actor, reason: bodyReason ?? reasonHeader?.trim() ?? '' };
  const ifMatch = parseIfMatch(singleHeader(request, 'if-match'));
  if (ifMatch !== undefined) meta.ifMatch = ifMatch;
  return meta;
}

/** `limit` from the querystring: an integer 1..10 000, default 100. */
export function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_EVENTS_LIMIT;
  if (!/^[1-9]\d{0,5}$/.test(raw) || Number(raw) > MAX_EVENTS_LIMIT) {
    throw badRequest(`querystring.limit must be an integer 1..${MAX_EVENTS_LIMIT}`);
  }
  return Number(raw);
}

/** The state's public view for one service (sticky, rollout summary and verification from its parts). */
export function serviceStateView(service: AdminService, state: RoutingState = service.state.state) {
  const summary = service.rolloutSummary ? service.rolloutSummary() : (service.rollouts?.summary() ?? null);
  return stateView(state, service.sticky ?? DEFAULT_STICKY, summary ?? null, service.verification?.view(state));
}

/**
 * The state routes of one service, mounted under `/api/v1` and `/api/v1/services/:service`
 * (services.ts): every path here is relative to the mounting's prefix.
 */
export async function stateRoutes(app: FastifyInstance, opts: { scope: ServiceScope }): Promise<void> {
  const { scope } = opts;
  const doc = <S extends object>(schema: S) => scope.doc(schema);

  const send = (reply: FastifyReply, service: AdminService, state: RoutingState) => {
    reply.header('etag', `"${state.version}"`);
    return serviceStateView(service, state);
  };

  ensureSharedSchemas(app);
  app.get('/state', { schema: doc(routeDocs.getState) }, async (request, reply) => {
    const service = scope.resolve(request);
    return send(reply, service, service.state.state);
  });

  // A change answers once every live replica routes by it (CONTRACT §6), and says so.
  const sendChange = async (reply: FastifyReply, service: AdminService, state: RoutingState) => {
    const view = send(reply, service, state);
    return scope.converge ? { ...view, converged: await scope.converge(state.version, service.name) } : view;
  };

  app.put<{ Body: CanaryBody }>(
    '/canary',
    { schema: doc({ ...routeDocs.putCanary, body: canaryBody }) },
    async (request, reply) => {
      const service = scope.resolve(request);
      const { weight, reason } = request.body; // a Weight: the schema checked its 4 decimals
      const meta = changeMeta(request, reason);
      return sendChange(reply, service, await service.state.setWeight(weight, meta));
    },
  );

  app.post<{ Body: FlipBody }>('/flip', { schema: doc({ ...routeDocs.flip, body: flipBody }) }, async (request, reply) => {
    const service = scope.resolve(request);
    const meta = changeMeta(request, request.body?.reason);
    const verify = request.body?.verify;
    if (service.verification) return sendChange(reply, service, await service.verification.flip(verify, meta));
    if (verify !== undefined && verify !== false) throw badRequest('body.verify is not available: this server has no verification controller');
    return sendChange(reply, service, await service.state.flip(meta));
  });

  // CONTRACT §11's "revert now" lever: flips back to the old colour at once (`flip.revert`, by the caller).
  app.post<{ Body: ActionBody }>('/verification/revert', { schema: doc({ ...routeDocs.revert, body: actionBody }) }, async (request, reply) => {
    const service = scope.resolve(request);
    if (!service.verification) throw new TurnoutError('TURNOUT_ERR_NOT_FOUND', 'no verification has run');
    const meta = changeMeta(request, request.body?.reason);
    return sendChange(reply, service, await service.verification.revert(meta));
  });

  app.get('/verification', { schema: doc(routeDocs.getVerification) }, async (request) => {
    const service = scope.resolve(request);
    const view = service.verification ? service.verification.view() : stateView(service.state.state, DEFAULT_STICKY, null).verification;
    if (view === null) throw new TurnoutError('TURNOUT_ERR_NOT_FOUND', 'no verification has run');
    return view;
  });

  app.post<{ Body: ActionBody }>('/rollback', { schema: doc({ ...routeDocs.rollback, body: actionBody }) }, async (request, reply) => {
    const service = scope.resolve(request);
    const meta = changeMeta(request, request.body?.reason);
    return sendChange(reply, service, await service.state.rollback(meta));
  });

  app.get<{ Querystring: EventsQuery }>('/events', { schema: doc({ ...routeDocs.events, querystring: eventsQuery }) }, async (request) => {
    const service = scope.resolve(request);
    return eventsOf(service, await service.state.events(parseLimit(request.query.limit)), scope.tagEvents);
  });
}

/** The process's probes (CONTRACT §4): public, not per service. */
export async function probeRoutes(app: FastifyInstance, opts: { isReady: () => boolean }): Promise<void> {
  app.get('/healthz', { schema: routeDocs.healthz }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: routeDocs.readyz }, async (_request, reply) => {
    if (opts.isReady()) return { status: 'ready' };
    reply.code(503);
    return new TurnoutError('TURNOUT_ERR_NO_HEALTHY_TARGET', 'the active colour has no healthy target').toJSON();
  });
}
