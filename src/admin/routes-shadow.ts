// The shadow comparison's routes (CONTRACT §9): GET /api/v1/shadow reads the counters, the
// learnt noise and the newest mismatching samples; PUT /api/v1/shadow { percent } changes the
// share mirrored, through StateManager like every change (audited as a `shadow` event).
import { routeDocs } from './api-schemas.ts';
import type { FastifyInstance } from 'fastify';
import { TurnoutError } from '../errors.ts';
import type { ShadowView } from '../shadow/stats.ts';
import type { AdminDeps } from './server.ts';
import { changeMeta } from './routes-state.ts';
import { shadowBody, type ShadowBody } from './schemas.ts';

/** What the routes need of the shadow comparison (app.ts gives the Shadower's view). */
export interface ShadowSource {
  view(percent: number): ShadowView;
}

export async function shadowRoutes(app: FastifyInstance, opts: { deps: AdminDeps }): Promise<void> {
  const { deps } = opts;
  const source = deps.shadow;
  const view = () => {
    if (source === undefined) throw new TurnoutError('TURNOUT_ERR_NOT_FOUND', 'shadow comparison is not available on this server');
    return source.view(deps.state.snapshot.shadowPercent);
  };

  app.get('/api/v1/shadow', { schema: routeDocs.getShadow }, async () => view());

  app.put<{ Body: ShadowBody }>('/api/v1/shadow', { schema: { ...routeDocs.putShadow, body: shadowBody } }, async (request, reply) => {
    view(); // 404 before any change when there is no shadow comparison
    const { percent, reason } = request.body; // a Weight: the schema checked its 4 decimals
    const state = await deps.state.setShadow(percent, changeMeta(request, reason));
    reply.header('etag', `"${state.version}"`);
    return view();
  });
}
