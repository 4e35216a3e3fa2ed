// Services (CONTRACT §10) as the admin API sees them. The admin layer defines what it needs of ONE
// service (AdminService) and the composition root hands it one per configured service: the admin
// never learns how a service's pools, windows or controllers are built (dependency inversion).
//
// Every per-service route family (state, rollouts, upstreams, shadow, override links) is written
// once and mounted twice: under `/api/v1/services/:service` (a ServiceScope that resolves the
// name, 404 when unknown) and under `/api/v1` (a scope that answers for the only service, and 400
// naming `service` when there are several). The scope resolves in an onRequest hook, so a request
// for an unknown service is refused before its body is even parsed, and changes nothing.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TurnoutError } from '../errors.ts';
import type { StateManager } from '../state/manager.ts';
import type { AuditEvent } from '../state/model.ts';
import type { Converged } from './routes-fleet.ts';
import type { OverrideLinks } from './routes-override-links.ts';
import type { RolloutApi } from './routes-rollouts.ts';
import type { ShadowSource } from './routes-shadow.ts';
import type { VerificationApi } from './routes-state.ts';
import type { UpstreamsSource } from './routes-upstreams.ts';
import type { StickyView } from './state-view.ts';

/** A service's `match` (CONTRACT §10), echoed by GET /api/v1/services. */
export interface ServiceMatchView {
  /** Exact names or `*.` wildcards; empty: every host (the §2 `default` service). */
  readonly hosts: readonly string[];
  readonly pathPrefix: string;
}

/** What the admin API needs of one service. Absent parts: the routes that need them answer 404 (or are not registered). */
export interface AdminService {
  /** The key of `services:` (`default` for a §2 config): the `{name}` of /api/v1/services/{name}/…. */
  readonly name: string;
  readonly match: ServiceMatchView;
  /** The service's own state: its own version counter, If-Match, events. */
  readonly state: StateManager;
  /** Its `routing.sticky`, echoed by its state (default: the config defaults). */
  readonly sticky?: StickyView;
  /** Its current or last rollout's summary for the state's `rollout`; default: rollouts.summary(). */
  readonly rolloutSummary?: () => unknown;
  /** GET …/upstreams: its colours' windows. */
  readonly telemetry?: UpstreamsSource;
  /** …/rollouts: its rollout controller. */
  readonly rollouts?: RolloutApi;
  /** Its post-flip verification (CONTRACT §11). */
  readonly verification?: VerificationApi;
  /** …/shadow: its shadow comparison (CONTRACT §9). */
  readonly shadow?: ShadowSource;
  /** …/override-links: signed override values with its `routing.override` secret. */
  readonly overrideLinks?: OverrideLinks;
}

/** A write's wait for the fleet: the service's version is acked per service (its own state key). */
export type ConvergeFn = (version: number, service: string) => Promise<Converged>;

/** The services, in config order, by name. Names are unique (the config's map keys). */
export class ServiceDirectory {
  readonly list: readonly AdminService[];
  readonly #byName: ReadonlyMap<string, AdminService>;

  constructor(services: readonly AdminService[]) {
    if (services.length === 0) throw new TurnoutError('TURNOUT_ERR_CONFIG', 'admin: at least one service is needed');
    const byName = new Map<string, AdminService>();
    for (const s of services) {
      if (byName.has(s.name)) throw new TurnoutError('TURNOUT_ERR_CONFIG', `admin: service "${s.name}" is given twice`);
      byName.set(s.name, s);
    }
    this.list = Object.freeze([...services]);
    this.#byName = byName;
  }

  get(name: string): AdminService | undefined {
    return this.#byName.get(name);
  }

  names(): string {
    return this.list.map((s) => s.name).join(', ');
  }
}

/** How one mounting of a route family finds the service a request acts on. */
export interface ServiceScope {
  /** The service of this request; throws the 400/404 the caller gets. */
  resolve(request: FastifyRequest): AdminService;
  /** Every service the family may serve (a route needing a part exists when one of them has it). */
  readonly services: readonly AdminService[];
  readonly converge?: ConvergeFn;
  /** Whether answers name the service in each event (`service`), for events stored without it. */
  readonly tagEvents: boolean;
  /** Adds the mounting's own documentation (the `service` path parameter and its errors) to a route schema. */
  doc<S extends object>(schema: S): S;
}

/** The name in the path is a config key: at most 64 characters, the config's own rule checks the charset. */
const MAX_NAME = 64;

const errorRef = (description: string) => ({ $ref: 'Error#', description });
/** A status's documented meaning, and one more. */
const also = (documented: unknown, more: string) => {
  const before = (documented as { description?: unknown } | undefined)?.description;
  return typeof before === 'string' ? `${before}; or ${more}` : more;
};

export function prefixedScope(directory: ServiceDirectory, options: { converge?: ConvergeFn; tagEvents: boolean }): ServiceScope {
  return {
    services: directory.list,
    tagEvents: options.tagEvents,
    ...(options.converge ? { converge: options.converge } : {}),
    resolve(request) {
      const name = (request.params as { service?: unknown }).service;
      const service = typeof name === 'string' && name.length <= MAX_NAME ? directory.get(name) : undefined;
      if (service === undefined) {
        const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, MAX_NAME)) : '?';
        throw new TurnoutError('TURNOUT_ERR_NOT_FOUND', `params.service: no service ${shown} (services: ${directory.names()})`);
      }
      return service;
    },
    doc<S extends object>(schema: S): S {
      const s = schema as { tags?: readonly string[]; response?: Record<string, unknown> };
      return {
        ...schema,
        tags: [...(s.tags ?? []), 'services'],
        params: {
          type: 'object',
          required: ['service'],
          properties: { service: { type: 'string', description: 'the service name (a key of `services:`; `default` for a single-service config)' } },
        },
        response: { ...s.response, 404: errorRef(also(s.response?.[404], 'no such service')) },
      } as S;
    },
  };
}

export function unprefixedScope(directory: ServiceDirectory, options: { converge?: ConvergeFn; tagEvents: boolean }): ServiceScope {
  const only = directory.list.length === 1 ? directory.list[0] : undefined;
  return {
    services: directory.list,
    tagEvents: options.tagEvents,
    ...(options.converge ? { converge: options.converge } : {}),
    resolve(request) {
      if (only !== undefined) return only;
      const route = request.url.split('?')[0]!.replace(/^\/api\/v1\//, '');
      throw new TurnoutError(
        'TURNOUT_ERR_BAD_REQUEST',
        `service: this server has ${directory.list.length} services (${directory.names()}); name one: /api/v1/services/{service}/${route}`,
      );
    },
    doc<S extends object>(schema: S): S {
      if (only !== undefined) return schema;
      const s = schema as { response?: Record<string, unknown> };
      return { ...schema, response: { ...s.response, 400: errorRef(also(s.response?.[400], 'several services: name one under /api/v1/services/{service}/…')) } } as S;
    },
  };
}

/**
 * Mounts a route family on `app`, resolving the service before anything else of the request is
 * read (onRequest, after the root's Host and bearer checks).
 */
export async function mountFamily(
  app: FastifyInstance,
  family: (app: FastifyInstance, opts: { scope: ServiceScope }) => Promise<void>,
  prefix: string,
  scope: ServiceScope,
): Promise<void> {
  await app.register(
    async (child) => {
      child.addHook('onRequest', async (request) => {
        scope.resolve(request);
      });
      await family(child, { scope });
    },
    { prefix },
  );
}

/** The events of a service, each naming it (CONTRACT §10: every event carries `service`). */
export function eventsOf(service: AdminService, events: readonly AuditEvent[], tag: boolean): readonly AuditEvent[] {
  if (!tag) return events;
  return events.map((e) => ((e as { service?: string }).service !== undefined ? e : { ...e, service: service.name }));
}
