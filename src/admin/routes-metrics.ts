// GET /metrics (CONTRACT §4): the Prometheus text format from Turnout's own registry. Public,
// like /healthz: scrapers carry no token, and nothing here is secret (targets are the operator's
// own config). The metrics are computed at scrape time from the aggregates (prometheus.ts).
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { routeDocs } from './api-schemas.ts';

export async function metricsRoutes(app: FastifyInstance, opts: { deps: { metricsRegistry?: Registry } }): Promise<void> {
  const registry = opts.deps.metricsRegistry;
  if (registry === undefined) return;
  app.get('/metrics', { schema: routeDocs.metrics }, async (_request, reply) => {
    const body = await registry.metrics();
    reply.header('cache-control', 'no-store').type(registry.contentType).send(body);
  });
}
