// A typed client for the admin REST API (CONTRACT §4), on fetch. Used by the CLI; usable by any
// script. Every failure is an AdminClientError with a one-line message: connection problems
// (status null), or the server's `{ statusCode, code, error, message }` (status set).
import type { StateView } from '../admin/state-view.ts';
import type { AuditEvent } from '../state/model.ts';

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:9901';

export type AdminClientErrorKind = 'connection' | 'timeout' | 'http' | 'protocol';

export class AdminClientError extends Error {
  readonly kind: AdminClientErrorKind;
  /** The HTTP status, or null when no answer arrived. */
  readonly status: number | null;
  /** The server's error message (from its JSON body), when it sent one. */
  readonly serverMessage: string | null;

  constructor(kind: AdminClientErrorKind, message: string, details: { status?: number; serverMessage?: string; cause?: unknown } = {}) {
    super(message, { cause: details.cause });
    this.name = 'AdminClientError';
    this.kind = kind;
    this.status = details.status ?? null;
    this.serverMessage = details.serverMessage ?? null;
  }
}

export interface ChangeOptions {
  /** Sent as `If-Match: "<version>"`: the change applies only to that version (else 412). */
  ifMatch?: number;
  reason?: string;
  /** Sent as `x-turnout-actor` (recorded in the audit log). */
  actor?: string;
}

export interface AdminClientOptions {
  baseUrl?: string;
  token?: string;
  /** CONTRACT §10: the service every per-service call acts on (/api/v1/services/{name}/…); absent: the unprefixed routes (the only service). */
  service?: string;
  /** Per request (default 10 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** The first segment after /api/v1/ of every per-service route (CONTRACT §4, §9, §10, §11). */
const SERVICE_ROUTES: ReadonlySet<string> = new Set(['state', 'canary', 'flip', 'rollback', 'events', 'upstreams', 'rollouts', 'shadow', 'verification', 'override-links']);

/** `/api/v1/state` → `/api/v1/services/shop/state` for a per-service route; any other path unchanged. */
export function servicePath(path: string, service: string | undefined): string {
  if (service === undefined) return path;
  const m = /^\/api\/v1\/([^/?]+)(.*)$/.exec(path);
  if (m === null || !SERVICE_ROUTES.has(m[1]!)) return path;
  return `/api/v1/services/${encodeURIComponent(service)}/${m[1]}${m[2]}`;
}

/** One entry of GET /api/v1/services. */
export interface ServiceSummary {
  name: string;
  match: { hosts: string[]; pathPrefix: string };
  version: number;
  active: StateView['active'];
  canary: StateView['canary'];
  split: StateView['split'];
  updatedAt: string;
  rollout: unknown;
  verification: string | null;
  idle: StateView['idle'];
}

export class AdminClient {
  readonly baseUrl: string;
  /** The service per-service calls act on; undefined: the unprefixed routes. */
  readonly service: string | undefined;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(options: AdminClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? DEFAULT_ADMIN_URL).replace(/\/+$/, '');
    this.#token = options.token;
    this.service = options.service;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#fetch = options.fetch ?? fetch;
  }

  state(): Promise<StateView> {
    return this.request<StateView>('GET', '/api/v1/state');
  }

  setWeight(weight: number, options: ChangeOptions = {}): Promise<StateView> {
    const body: Record<string, unknown> = { weight };
    if (options.reason !== undefined) body.reason = options.reason;
    return this.request<StateView>('PUT', '/api/v1/canary', { body, ...options });
  }

  /**
   * `verify`: the flip's verification period (CONTRACT §11): fields as in `routing.verify`, or
   * false for none even when the config has a default; absent → the config's default.
   */
  flip(options: ChangeOptions & { verify?: Record<string, number> | false } = {}): Promise<StateView> {
    const { verify, ...rest } = options;
    const body: Record<string, unknown> = { ...reasonBody(rest) };
    if (verify !== undefined) body.verify = verify;
    return this.request<StateView>('POST', '/api/v1/flip', { body: Object.keys(body).length > 0 ? body : undefined, ...rest });
  }

  /** The "revert now" lever of a running verification (CONTRACT §11): back to the old colour. */
  revertVerification(options: ChangeOptions = {}): Promise<StateView> {
    return this.request<StateView>('POST', '/api/v1/verification/revert', { body: reasonBody(options), ...options });
  }

  rollback(options: ChangeOptions = {}): Promise<StateView> {
    return this.request<StateView>('POST', '/api/v1/rollback', { body: reasonBody(options), ...options });
  }

  /** Newest first. */
  events(limit?: number): Promise<AuditEvent[]> {
    const query = limit === undefined ? '' : `?limit=${encodeURIComponent(String(limit))}`;
    return this.request<AuditEvent[]>('GET', `/api/v1/events${query}`);
  }

  /** Every service, in config order (CONTRACT §10). */
  async services(): Promise<ServiceSummary[]> {
    return (await this.request<{ services: ServiceSummary[] }>('GET', '/api/v1/services')).services;
  }

  /**
   * Any admin route (the rollout commands use this): JSON in, JSON out, errors as AdminClientError.
   * A per-service path (`/api/v1/state`, `/api/v1/rollouts/…`) goes to the client's service, if it has one.
   */
  async request<T>(method: string, path: string, options: ChangeOptions & { body?: unknown } = {}): Promise<T> {
    const url = this.baseUrl + servicePath(path, this.service);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    if (options.ifMatch !== undefined) headers['if-match'] = `"${options.ifMatch}"`;
    if (options.actor !== undefined) headers['x-turnout-actor'] = options.actor;
    let payload: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(options.body);
    }
    let response: Response;
    try {
      response = await this.#fetch(url, { method, headers, body: payload, signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (err) {
      throw connectionError(this.baseUrl, err, this.#timeoutMs);
    }
    const text = await response.text().catch(() => '');
    let json: unknown;
    try {
      json = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const serverMessage = isErrorBody(json) ? json.message : undefined;
      const what = `${response.status} ${response.statusText || 'error'}`.trim();
      const message =
        response.status === 401
          ? `unauthorized (401): ${serverMessage ?? 'bad token'}; set TURNOUT_ADMIN_TOKEN to the admin token`
          : `${what}: ${serverMessage ?? (text.slice(0, 200) || 'no details')}`;
      throw new AdminClientError('http', message, { status: response.status, ...(serverMessage ? { serverMessage } : {}) });
    }
    if (json === undefined) {
      throw new AdminClientError('protocol', `${method} ${path}: the admin API answered ${response.status} without a JSON body`, {
        status: response.status,
      });
    }
    return json as T;
  }
}

function reasonBody(options: ChangeOptions): { reason: string } | undefined {
  return options.reason === undefined ? undefined : { reason: options.reason };
}

function isErrorBody(value: unknown): value is { message: string } {
  return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string';
}

/** fetch's "fetch failed" hides the reason in `cause`; name it (connection refused, DNS, timeout). */
function connectionError(baseUrl: string, err: unknown, timeoutMs: number): AdminClientError {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') {
    return new AdminClientError('timeout', `the admin API at ${baseUrl} did not answer within ${timeoutMs} ms`, { cause: err });
  }
  const code = e.cause?.code;
  const why =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND'
        ? 'host not found'
        : (code ?? e.cause?.message ?? e.message);
  return new AdminClientError('connection', `cannot reach the admin API at ${baseUrl} (${why})`, { cause: err });
}
