// The admin listener's fastify instance (CONTRACT §4): its own instance, never reachable through
// the proxy listeners. Built here, listened on by app.ts. Strict everywhere: JSON bodies only
// (415 otherwise), no coercion, unknown fields rejected, every error `{ statusCode, code, error, message }`
// naming the field, /api/* behind a bearer token.
import { STATUS_CODES, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TurnoutError, type ErrorCode } from '../errors.ts';
import type { StateManager } from '../state/manager.ts';
import { bearerAuth } from './auth.ts';
import { dashboard } from './dashboard.ts';
import type { Registry } from 'prom-client';
import { metricsRoutes } from './routes-metrics.ts';
import { rolloutRoutes, type RolloutApi } from './routes-rollouts.ts';
import { probeRoutes, stateRoutes, type VerificationApi } from './routes-state.ts';
import { upstreamsFamily, type UpstreamsSource } from './routes-upstreams.ts';
import { fleetRoutes, type FleetSource } from './routes-fleet.ts';
import { serviceListRoutes } from './routes-services.ts';
import { mountFamily, prefixedScope, ServiceDirectory, unprefixedScope, type AdminService, type ConvergeFn } from './services.ts';
import { createStrictAjv, formatValidationErrors } from './schemas.ts';
import { SHARED_SCHEMAS } from './api-schemas.ts';
import { hostAllowList } from './host-allow-list.ts';
import { overrideLinkRoutes, type OverrideLinks } from './routes-override-links.ts';
import { openapi } from './openapi.ts';
import type { StickyView } from './state-view.ts';
import { shadowRoutes, type ShadowSource } from './routes-shadow.ts';

/** What the admin server needs of the process, whatever the number of services. */
export interface AdminProcessDeps {
  /** The bearer token every /api/* request must carry; empty → refuses to build. */
  token: string;
  /** /readyz: true when the active colour has a healthy target (and the process is not draining). */
  isReady: () => boolean;
  /** A pino logger (fastify's loggerInstance); silent when absent. */
  logger?: FastifyBaseLogger;
  /** Largest accepted request body in bytes (default 64 KiB). */
  bodyLimit?: number;
  /** GET /metrics, public (the route exists only when given). */
  metricsRegistry?: Registry;
  /** admin.allowedHosts and admin.host: the Host allow-list against DNS rebinding (host-allow-list.ts). */
  allowedHosts?: readonly string[];
  adminHost?: string;
  /** GET /api/v1/fleet (CONTRACT §6); absent: one entry, this process. */
  fleet?: FleetSource;
  /** Waits until every live replica applied a service's version (a fleet); writes then carry `converged`. */
  converge?: ConvergeFn;
  /** Builds the node server (app.ts: a TLS one for `admin.tls`); default node:http. */
  serverFactory?: (handler: (req: IncomingMessage, res: ServerResponse) => void) => unknown;
}

/** CONTRACT §10: the admin server of many services (services.ts says what it needs of each). */
export interface ServicesAdminDeps extends AdminProcessDeps {
  /** In config order; at least one. */
  services: readonly AdminService[];
}

/** The single-service form (every admin server before §10): its one service is `default`, matching everything. */
export interface AdminDeps extends AdminProcessDeps {
  state: StateManager;
  /** The config's `routing.sticky`, echoed by GET /api/v1/state (default: the config defaults). */
  sticky?: StickyView;
  /** The current or last rollout's summary for GET /api/v1/state; null/absent when none ever ran. */
  rolloutSummary?: () => unknown;
  /** GET /api/v1/upstreams (the route exists only when given). */
  telemetry?: UpstreamsSource;
  rollouts?: unknown;
  /** Post-flip verification (CONTRACT §11): `verify` on POST /api/v1/flip, the revert lever, the state's `verification`. */
  verification?: VerificationApi;
  /** POST /api/v1/override-links; absent → that route answers 409 (no routing.override.secret). */
  overrideLinks?: OverrideLinks;
  /** CONTRACT §9: GET/PUT /api/v1/shadow (GET answers 404 when absent). */
  shadow?: ShadowSource;
}

/** The single-service deps as a one-element service list (events keep their stored shape there). */
function singleService(deps: AdminDeps): AdminService {
  return {
    name: DEFAULT_SERVICE_NAME,
    match: { hosts: [], pathPrefix: '/' },
    state: deps.state,
    ...(deps.sticky ? { sticky: deps.sticky } : {}),
    ...(deps.rolloutSummary ? { rolloutSummary: deps.rolloutSummary } : {}),
    ...(deps.telemetry ? { telemetry: deps.telemetry } : {}),
    ...(deps.rollouts ? { rollouts: deps.rollouts as RolloutApi } : {}),
    ...(deps.verification ? { verification: deps.verification } : {}),
    ...(deps.shadow ? { shadow: deps.shadow } : {}),
    ...(deps.overrideLinks ? { overrideLinks: deps.overrideLinks } : {}),
  };
}

/** The §2 config's one service (CONTRACT §10). */
export const DEFAULT_SERVICE_NAME = 'default';

/** Where a service's routes live: /api/v1/services/{name}/… (CONTRACT §10). */
export const SERVICE_PREFIX = '/api/v1/services/:service';

/** The per-service route families, each written once and mounted under both prefixes. */
const FAMILIES = [stateRoutes, rolloutRoutes, upstreamsFamily, overrideLinkRoutes, shadowRoutes] as const;

export const ADMIN_BODY_LIMIT = 64 * 1024;

export async function buildAdminServer(deps: AdminDeps | ServicesAdminDeps): Promise<FastifyInstance> {
  const multi = 'services' in deps;
  const directory = new ServiceDirectory(multi ? deps.services : [singleService(deps)]);
  const checkBearer = bearerAuth(deps.token); // throws on an empty token, before anything is built
  const bodyLimit = deps.bodyLimit ?? ADMIN_BODY_LIMIT;
  const app = Fastify({
    // Per-request lines are logged at info, and the dashboard polls every second: the admin
    // server logs warnings and errors only. Changes are in the audit log.
    ...(deps.logger ? { loggerInstance: deps.logger.child({}, { level: 'warn' }) } : { logger: false }),
    bodyLimit,
    // Error messages name fields as `body.weight`, not Ajv's `/weight`.
    schemaErrorFormatter: (errors, dataVar) => new Error(formatValidationErrors(errors, dataVar)),
    return503OnClosing: true,
    // A TLS (and HTTP/2-with-fallback) server is driven through the same (req, res) handler:
    // fastify's request and reply work on node:http2's compat objects too.
    ...(deps.serverFactory ? { serverFactory: deps.serverFactory as (handler: (req: IncomingMessage, res: ServerResponse) => void) => Server } : {}),
  });

  const ajv = createStrictAjv();
  for (const schema of SHARED_SCHEMAS) ajv.addSchema(schema);
  // Every request schema is TypeBox (schemas.ts, api-schemas.ts, rollout/spec.ts), compiled by the strict Ajv.
  app.setValidatorCompiler(({ schema }) => ajv.compile(schema));
  // Response schemas document (OpenAPI); they never filter or coerce what a handler returns.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  // JSON only: drop fastify's text/plain parser (anything but JSON → 415). An empty body is
  // "no body" (so `POST /flip` with a JSON content-type and nothing in it is fine); the schema
  // decides whether a body is required.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (_request, body, done) => {
    const text = String(body);
    if (text.trim().length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(new TurnoutError('TURNOUT_ERR_BAD_REQUEST', `body is not valid JSON (${(err as Error).message})`), undefined);
    }
  });

  // Host first: a DNS-rebinding page must not even learn which routes need a token.
  const hostAllowed = hostAllowList({ allowed: deps.allowedHosts ?? [], adminHost: deps.adminHost ?? '127.0.0.1' });
  app.addHook('onRequest', async (request) => {
    if (!hostAllowed(request.headers.host)) {
      throw new TurnoutError('TURNOUT_ERR_FORBIDDEN', 'Host not allowed on the admin listener (add it to admin.allowedHosts)');
    }
  });
  app.addHook('onRequest', checkBearer);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(new TurnoutError('TURNOUT_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`).toJSON());
  });

  await openapi(app);
  const scopeOptions = { tagEvents: multi, ...(deps.converge ? { converge: deps.converge } : {}) };
  const prefixed = prefixedScope(directory, scopeOptions);
  const unprefixed = unprefixedScope(directory, scopeOptions);
  for (const family of FAMILIES) {
    await mountFamily(app, family, '/api/v1', unprefixed);
    await mountFamily(app, family, SERVICE_PREFIX, prefixed);
  }
  await app.register(serviceListRoutes, { directory, prefixed });
  await app.register(probeRoutes, { isReady: deps.isReady });
  await app.register(metricsRoutes, { deps });
  await app.register(fleetRoutes, { directory, ...(deps.fleet ? { fleet: deps.fleet } : {}) });
  await app.register(dashboard);
  // Route plugins of other parts register here, one line each: a per-service family joins
  // FAMILIES (paths relative to the mounting, the service from scope.resolve); a per-process
  // route registers on its own. /api/* routes are behind the bearer check and share the strict
  // validator and the JSON error shape; /metrics, /healthz, /readyz and the dashboard page are public.

  return app;
}

function errorHandler(this: FastifyInstance, err: FastifyError | TurnoutError, request: FastifyRequest, reply: FastifyReply): void {
  if (err instanceof TurnoutError) {
    if (err.statusCode >= 500) request.log.error({ err }, err.message);
    reply.code(err.statusCode).send(err.toJSON());
    return;
  }
  const status = err.statusCode ?? 500;
  if (err.validation) {
    reply.code(400).send(new TurnoutError('TURNOUT_ERR_BAD_REQUEST', err.message).toJSON());
    return;
  }
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || status === 415) {
    reply.code(415).send(new TurnoutError('TURNOUT_ERR_UNSUPPORTED_MEDIA_TYPE').toJSON());
    return;
  }
  if (status >= 400 && status < 500) {
    // fastify's own client errors (FST_ERR_CTP_BODY_TOO_LARGE, FST_ERR_CTP_EMPTY_JSON_BODY, …):
    // the registry code of the status, keeping fastify's status and message.
    const code = CLIENT_ERROR_CODES[status] ?? 'TURNOUT_ERR_BAD_REQUEST';
    reply.code(status).send({ ...new TurnoutError(code, err.message).toJSON(), statusCode: status });
    return;
  }
  request.log.error({ err }, 'admin request failed');
  reply.code(500).send(new TurnoutError('TURNOUT_ERR_INTERNAL').toJSON());
}

/** A 4xx status → its registry code (CONTRACT §4: every admin error body carries `code`). */
const CLIENT_ERROR_CODES: Readonly<Partial<Record<number, ErrorCode>>> = {
  400: 'TURNOUT_ERR_BAD_REQUEST',
  401: 'TURNOUT_ERR_UNAUTHORIZED',
  403: 'TURNOUT_ERR_FORBIDDEN',
  404: 'TURNOUT_ERR_NOT_FOUND',
  408: 'TURNOUT_ERR_REQUEST_TIMEOUT',
  409: 'TURNOUT_ERR_CONFLICT',
  412: 'TURNOUT_ERR_PRECONDITION_FAILED',
  413: 'TURNOUT_ERR_PAYLOAD_TOO_LARGE',
  415: 'TURNOUT_ERR_UNSUPPORTED_MEDIA_TYPE',
  431: 'TURNOUT_ERR_TOO_MANY_HEADERS',
};
