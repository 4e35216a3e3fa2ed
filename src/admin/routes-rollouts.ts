// The rollout routes (CONTRACT §4): start a progressive rollout, read it, and pause, resume,
// promote or abort it. Every change goes through the RolloutController, which commits through
// StateManager like any other change (versioned, audited, If-Match honoured). Who and why come
// from the same headers as the state routes (`x-turnout-actor`, `x-turnout-reason`, or the
// body's `reason`).
//
// The rollout body is rollout/spec.ts's schema (with `reason`): fastify checks it here, and the
// controller checks it again with the rule JSON Schema cannot say (weights increase), so a rollout
// started without the admin API is held to the same rules.
import type { FastifyInstance } from 'fastify';
import { TurnoutError } from '../errors.ts';
import type { RolloutController } from '../rollout/controller.ts';
import { changeMeta } from './routes-state.ts';
import { actionBody, type ActionBody } from './schemas.ts';
import type { AdminDeps } from './server.ts';
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

export async function rolloutRoutes(app: FastifyInstance, opts: { deps: AdminDeps }): Promise<void> {
  const rollouts = opts.deps.rollouts as RolloutApi | undefined;
  if (rollouts === undefined) return;
  // GET /api/v1/state's `rollout` field, unless the composition root supplied its own.
  opts.deps.rolloutSummary ??= () => rollouts.summary();
  // In a fleet a rollout change, like any change, answers once every live replica applied it.
  const converged = async <T extends object>(view: T): Promise<T> => {
    const { converge, state } = opts.deps;
    return converge ? { ...view, converged: await converge(state.state.version) } : view;
  };

  ensureSharedSchemas(app);
  app.post('/api/v1/rollouts', { schema: { ...routeDocs.createRollout, body: rolloutBody } }, async (request, reply) => {
    const { spec, reason } = takeReason(request.body);
    const meta = changeMeta(request, reason);
    const view = await rollouts.create(spec, meta);
    reply.code(201);
    return converged(view);
  });

  app.get('/api/v1/rollouts/current', { schema: routeDocs.currentRollout }, async () => {
    const view = rollouts.current();
    if (view === null) throw new TurnoutError('TURNOUT_ERR_NOT_FOUND', 'no rollout has run');
    return view;
  });

  for (const action of ACTIONS) {
    app.post<{ Body: ActionBody }>(
      `/api/v1/rollouts/current/${action}`,
      { schema: { ...routeDocs.rolloutAction(action), body: actionBody } },
      async (request) => converged(await rollouts[action](changeMeta(request, request.body?.reason))),
    );
  }
}
