// GET /api/v1/upstreams (CONTRACT §4), and …/services/{name}/upstreams (§10): each colour's and
// each target's health, requests, errors, error rate, latency percentiles and in-flight count
// over the sliding window. Behind the bearer check the admin server applies to every /api/* route.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TurnoutError } from '../errors.ts';
import type { UpstreamsView } from '../metrics/telemetry.ts';
import { ensureSharedSchemas, routeDocs } from './api-schemas.ts';
import type { AdminService, ServiceScope } from './services.ts';

/** What the route reads: Telemetry fits. */
export interface UpstreamsSource {
  /** `replica`: one replica's share of a fleet (`?replica=ID`, CONTRACT §6); absent: everything this source sees. */
  upstreams(replica?: string): UpstreamsView;
}

type TelemetryOf = Pick<AdminService, 'name' | 'telemetry'>;

/** The part of a ServiceScope this family reads (so a bare registration needs no StateManager). */
export interface UpstreamsScope {
  resolve(request: FastifyRequest): TelemetryOf;
  readonly services: readonly TelemetryOf[];
  doc: ServiceScope['doc'];
}

/** The route of one service (path relative to the mounting: services.ts); it exists when a service has telemetry. */
export async function upstreamsFamily(app: FastifyInstance, opts: { scope: UpstreamsScope }): Promise<void> {
  const { scope } = opts;
  if (!scope.services.some((s) => s.telemetry !== undefined)) return; // an admin server built without telemetry (some tests) has no such route
  ensureSharedSchemas(app);
  app.get<{ Querystring: { replica?: string } }>('/upstreams', { schema: scope.doc(routeDocs.upstreams) }, async (request) => {
    const service = scope.resolve(request);
    const telemetry = service.telemetry;
    if (telemetry === undefined) throw new TurnoutError('TURNOUT_ERR_NOT_FOUND', `service "${service.name}" has no telemetry`);
    const replica = request.query.replica;
    return replica === undefined ? telemetry.upstreams() : telemetry.upstreams(replica);
  });
}

/** GET /api/v1/upstreams from one source, on a bare fastify (tests of the metrics alone). */
export async function upstreamRoutes(app: FastifyInstance, opts: { deps: { telemetry?: UpstreamsSource } }): Promise<void> {
  const only: TelemetryOf = { name: 'default', ...(opts.deps.telemetry ? { telemetry: opts.deps.telemetry } : {}) };
  await app.register(upstreamsFamily, { prefix: '/api/v1', scope: { resolve: () => only, services: [only], doc: (s) => s } });
}
