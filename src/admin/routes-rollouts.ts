// The rollout routes (CONTRACT §4): start a progressive rollout, read it, and pause, resume,
// promote or abort it. Every change goes through the RolloutController, which commits through
// StateManager like any other change (versioned, audited, If-Match honoured). Who and why come
// from the same headers as the state routes (`x-turnout-actor`, `x-turnout-reason`, or the
// body's `reason`).
//
// The rollout body is rollout/spec.ts's schema (with `reason`): fastify checks it here, and the
// controller checks it again with the rule JSON Schema cannot say (weights increase), so a rollout
// started without the admin API is held to the same rules.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TurnoutError } from '../errors.ts';
import type { RolloutController } from '../rollout/controller.ts';
import { changeMeta } from './routes-state.ts';
import { actionBody, type ActionBody } from './schemas.ts';
import type { AdminService, ServiceScope } from './services.ts';
import { ensureSharedSchemas, rolloutBody, routeDocs } from './api-schemas.ts';

/** What the routes need of the controller (RolloutController satisfies it). */
export type RolloutApi = Pick<RolloutController, 'create' | 'current' | 'pause' | 'resume' | 'promote' | 'abort' | 'summary'>;

const ACTIONS = ['pause', 'resume', 'promote', 'abort'] as const;

/** Splits the optional `reason` (checked by the route's schema) off a rollout body: the rest is the rollout spec. */
function takeReason(body: unknown): { spec: unknown; reason: string | undefined } {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || !('reason' in body)) return { spec: body, reason: undefined };
  const { reason, ...spec } = body as Record<string, unknown>;
  return { spec, reason: reason as string };
}

/** The rollout routes of one service (paths relative to the mounting: services.ts); they exist when a service has a controller. */
export async function rolloutRoutes(app: FastifyInstance, opts: { scope: ServiceScope }): Promise<void> {
  const { scope } = opts;
  if (!scope.services.some((s) => s.rollouts !== undefined)) return;
  const doc = <S extends object>(schema: S) => scope.doc(schema);
  const rolloutsOf = (request: FastifyRequest): { service: AdminService; rollouts: RolloutApi } => {
    const service = scope.resolve(request);
    if (service.rollouts === undefined) throw new TurnoutError('TURNOUT_ERR_NOT_FOUND', `service "${service.name}" has no rollout controller`);
    return { service, rollouts: service.rollouts };
  };
  // In a fleet a rollout change, like any change, answers once every live replica applied it.
  const converged = async <T extends object>(service: AdminService, view: T): Promise<T> => {
    return scope.converge ? { ...view, converged: await scope.converge(service.state.state.version, service.name) } : view;
  };

  ensureSharedSchemas(app);
  app.post('/rollouts', { schema: doc({ ...routeDocs.createRollout, body: rolloutBody }) }, async (request, reply) => {
    const { service, rollouts } = rolloutsOf(request);
    const { spec, reason } = takeReason(request.body);
    const meta = changeMeta(request, reason);
    const view = await rollouts.create(spec, meta);
    reply.code(201);
    return converged(service, view);
  });

  app.get('/rollouts/current', { schema: doc(routeDocs.currentRollout) }, async (request) => {
    const view = rolloutsOf(request).rollouts.current();
    if (view === null) throw new TurnoutError('TURNOUT_ERR_NOT_FOUND', 'no rollout has run');
    return view;
  });

  for (const action of ACTIONS) {
    app.post<{ Body: ActionBody }>(
      `/rollouts/current/${action}`,
      { schema: doc({ ...routeDocs.rolloutAction(action), body: actionBody }) },
      async (request) => {
        const { service, rollouts } = rolloutsOf(request);
        return converged(service, await rollouts[action](changeMeta(request, request.body?.reason)));
      },
    );
  }
}
