// GET /api/v1/services (CONTRACT §10): every service, in config order, with its match and the
// gist of its state, so an operator (or `turnout services`, or the dashboard's picker) sees the
// whole edge at a glance; GET /api/v1/services/{name} is one entry. The full state of one is
// …/services/{name}/state.
import type { FastifyInstance } from 'fastify';
import { ensureSharedSchemas } from './api-schemas.ts';
import { serviceStateView } from './routes-state.ts';
import type { AdminService, ServiceDirectory, ServiceScope } from './services.ts';
import type { StateView } from './state-view.ts';

export interface ServiceEntry {
  readonly name: string;
  readonly match: { readonly hosts: readonly string[]; readonly pathPrefix: string };
  readonly version: number;
  readonly active: StateView['active'];
  readonly canary: StateView['canary'];
  readonly split: StateView['split'];
  readonly updatedAt: string;
  /** The current or last rollout's summary; null if none ever ran. */
  readonly rollout: unknown;
  /** The current or last verification's status; null before any. */
  readonly verification: string | null;
  readonly idle: StateView['idle'];
}

export function serviceEntry(service: AdminService): ServiceEntry {
  const view = serviceStateView(service);
  return {
    name: service.name,
    match: { hosts: [...service.match.hosts], pathPrefix: service.match.pathPrefix },
    version: view.version,
    active: view.active,
    canary: view.canary,
    split: view.split,
    updatedAt: view.updatedAt,
    rollout: view.rollout,
    verification: view.verification?.status ?? null,
    idle: view.idle,
  };
}

// Documented here, not in api-schemas.ts: the service list is this file's own shape.
const colour = { type: 'string', enum: ['blue', 'green'] } as const;
const weight = { type: 'number', minimum: 0, maximum: 100 } as const;
const errorRef = (description: string) => ({ $ref: 'Error#', description });
const entrySchema = {
  type: 'object',
  required: ['name', 'match', 'version', 'active', 'canary', 'split', 'updatedAt', 'rollout', 'verification', 'idle'],
  properties: {
    name: { type: 'string' },
    match: {
      type: 'object',
      required: ['hosts', 'pathPrefix'],
      properties: { hosts: { type: 'array', items: { type: 'string' }, description: 'exact or *. wildcard; empty: every host' }, pathPrefix: { type: 'string' } },
    },
    version: { type: 'integer', minimum: 0, description: "the service's own version (its If-Match)" },
    active: colour,
    canary: { type: 'object', required: ['colour', 'weight'], properties: { colour, weight } },
    split: { type: 'object', required: ['blue', 'green'], properties: { blue: weight, green: weight } },
    updatedAt: { type: 'string', format: 'date-time' },
    rollout: { oneOf: [{ $ref: 'RolloutSummary#' }, { type: 'null' }] },
    verification: { type: ['string', 'null'], enum: ['running', 'verified', 'reverted', 'cancelled', null] },
    idle: { type: 'object', required: ['colour', 'since', 'free'], properties: { colour, since: { type: ['string', 'null'] }, free: { type: 'boolean' } } },
  },
} as const;
const apiErrors = { 401: errorRef('missing or wrong bearer token'), 403: errorRef('Host not allowed (admin.allowedHosts)') };

export const serviceDocs = {
  list: {
    tags: ['services'],
    summary: 'Every service (CONTRACT §10), in config order, with its match and state',
    response: { 200: { type: 'object', required: ['services'], properties: { services: { type: 'array', items: entrySchema } }, description: 'the services' }, ...apiErrors },
  },
  one: { tags: ['services'], summary: 'One service, with its match and state', response: { 200: { ...entrySchema, description: 'the service' }, ...apiErrors } },
} as const;

export async function serviceListRoutes(app: FastifyInstance, opts: { directory: ServiceDirectory; prefixed: ServiceScope }): Promise<void> {
  const { directory, prefixed } = opts;
  ensureSharedSchemas(app);
  app.get('/api/v1/services', { schema: serviceDocs.list }, async () => ({ services: directory.list.map(serviceEntry) }));
  app.get('/api/v1/services/:service', { schema: prefixed.doc(serviceDocs.one) }, async (request) => serviceEntry(prefixed.resolve(request)));
}
