// GET /api/v1/upstreams (CONTRACT §4): each colour's and each target's health, requests, errors,
// error rate, latency percentiles and in-flight count over the sliding window. Behind the bearer
// check the admin server applies to every /api/* route.
import type { FastifyInstance } from 'fastify';
import type { UpstreamsView } from '../metrics/telemetry.ts';
import { ensureSharedSchemas, routeDocs } from './api-schemas.ts';

/** What the route reads: Telemetry fits. */
export interface UpstreamsSource {
  /** `replica`: one replica's share of a fleet (`?replica=ID`, CONTRACT §6); absent: everything this source sees. */
  upstreams(replica?: string): UpstreamsView;
}

export async function upstreamRoutes(app: FastifyInstance, opts: { deps: { telemetry?: UpstreamsSource } }): Promise<void> {
  const telemetry = opts.deps.telemetry;
  if (telemetry === undefined) return; // an admin server built without telemetry (some tests) has no such route
  ensureSharedSchemas(app);
  app.get<{ Querystring: { replica?: string } }>('/api/v1/upstreams', { schema: routeDocs.upstreams }, async (request) => {
    const replica = request.query.replica;
    return replica === undefined ? telemetry.upstreams() : telemetry.upstreams(replica);
  });
}
