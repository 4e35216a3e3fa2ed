// The shadow comparison's routes (CONTRACT §9): GET /api/v1/shadow reads the counters, the
// learnt noise and the newest mismatching samples; PUT /api/v1/shadow { percent } changes the
// share mirrored, through StateManager like every change (audited as a `shadow` event).
import { routeDocs } from './api-schemas.ts';
import type { FastifyInstance } from 'fastify';
import { TurnoutError } from '../errors.ts';
import type { ShadowView } from '../shadow/stats.ts';
import type { AdminService, ServiceScope } from './services.ts';
import { changeMeta } from './routes-state.ts';
import { shadowBody, type ShadowBody } from './schemas.ts';

/** What the routes need of the shadow comparison (app.ts gives the Shadower's view). */
export interface ShadowSource {
  view(percent: number): ShadowView;
}

/** The shadow routes of one service (paths relative to the mounting: services.ts). */
export async function shadowRoutes(app: FastifyInstance, opts: { scope: ServiceScope }): Promise<void> {
  const { scope } = opts;
  const doc = <S extends object>(schema: S) => scope.doc(schema);
  const view = (service: AdminService) => {
    if (service.shadow === undefined) throw new TurnoutError('TURNOUT_ERR_NOT_FOUND', 'shadow comparison is not available on this server');
    return service.shadow.view(service.state.snapshot.shadowPercent);
  };

  app.get('/shadow', { schema: doc(routeDocs.getShadow) }, async (request) => view(scope.resolve(request)));

  app.put<{ Body: ShadowBody }>('/shadow', { schema: doc({ ...routeDocs.putShadow, body: shadowBody }) }, async (request, reply) => {
    const service = scope.resolve(request);
    view(service); // 404 before any change when there is no shadow comparison
    const { percent, reason } = request.body; // a Weight: the schema checked its 4 decimals
    const state = await service.state.setShadow(percent, changeMeta(request, reason));
    reply.header('etag', `"${state.version}"`);
    return view(service);
  });
}
