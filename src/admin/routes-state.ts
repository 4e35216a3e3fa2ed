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
import type { AdminDeps } from './server.ts';
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

export async function stateRoutes(app: FastifyInstance, opts: { deps: AdminDeps }): Promise<void> {
  const { deps } = opts;
  const sticky = deps.sticky ?? DEFAULT_STICKY;

  const send = (reply: FastifyReply, state: RoutingState) => {
    reply.header('etag', `"${state.version}"`);
    return stateView(state, sticky, deps.rolloutSummary?.() ?? null, deps.verification?.view(state));
  };

  ensureSharedSchemas(app);
  app.get('/api/v1/state', { schema: routeDocs.getState }, async (_request, reply) => send(reply, deps.state.state));

  // A change answers once every live replica routes by it (CONTRACT §6), and says so.
  const sendChange = async (reply: FastifyReply, state: RoutingState) => {
    const view = send(reply, state);
    return deps.converge ? { ...view, converged: await deps.converge(state.version) } : view;
  };

  app.put<{ Body: CanaryBody }>(
    '/api/v1/canary',
    { schema: { ...routeDocs.putCanary, body: canaryBody } },
    async (request, reply) => {
      const { weight, reason } = request.body; // a Weight: the schema checked its 4 decimals
      const meta = changeMeta(request, reason);
      return sendChange(reply, await deps.state.setWeight(weight, meta));
    },
  );

  app.post<{ Body: FlipBody }>('/api/v1/flip', { schema: { ...routeDocs.flip, body: flipBody } }, async (request, reply) => {
    const meta = changeMeta(request, request.body?.reason);
    const verify = request.body?.verify;
    if (deps.verification) return sendChange(reply, await deps.verification.flip(verify, meta));
    if (verify !== undefined && verify !== false) throw badRequest('body.verify is not available: this server has no verification controller');
    return sendChange(reply, await deps.state.flip(meta));
  });

  // CONTRACT §11's "revert now" lever: flips back to the old colour at once (`flip.revert`, by the caller).
  app.post<{ Body: ActionBody }>('/api/v1/verification/revert', { schema: { ...routeDocs.revert, body: actionBody } }, async (request, reply) => {
    if (!deps.verification) throw new TurnoutError('TURNOUT_ERR_NOT_FOUND', 'no verification has run');
    const meta = changeMeta(request, request.body?.reason);
    return sendChange(reply, await deps.verification.revert(meta));
  });

  app.get('/api/v1/verification', { schema: routeDocs.getVerification }, async () => {
    const view = deps.verification ? deps.verification.view() : stateView(deps.state.state, sticky, null).verification;
    if (view === null) throw new TurnoutError('TURNOUT_ERR_NOT_FOUND', 'no verification has run');
    return view;
  });

  app.post<{ Body: ActionBody }>('/api/v1/rollback', { schema: { ...routeDocs.rollback, body: actionBody } }, async (request, reply) => {
    const meta = changeMeta(request, request.body?.reason);
    return sendChange(reply, await deps.state.rollback(meta));
  });

  app.get<{ Querystring: EventsQuery }>('/api/v1/events', { schema: { ...routeDocs.events, querystring: eventsQuery } }, async (request) => {
    return deps.state.events(parseLimit(request.query.limit));
  });

  app.get('/healthz', { schema: routeDocs.healthz }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: routeDocs.readyz }, async (_request, reply) => {
    if (deps.isReady()) return { status: 'ready' };
    reply.code(503);
    return new TurnoutError('TURNOUT_ERR_NO_HEALTHY_TARGET', 'the active colour has no healthy target').toJSON();
  });
}
