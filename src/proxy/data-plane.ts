// The per-request path of a proxy listener: read the routing facts, decide the colour from the
// current snapshot (synchronously: a flip is one reference swap), and hand the request to an
// Exchange. Nothing here awaits; nothing here allocates beyond the request's own objects.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Colour, RandomSource } from '../domain.ts';
import { ERRORS, errorBody, type ErrorCode } from '../errors.ts';
import type { ProxyConfig, RoutingConfig } from '../config/types.ts';
import type { Recorder } from '../metrics/recorder.ts';
import type { RoutingSnapshot } from '../state/model.ts';
import { readCookie } from '../routing/cookies.ts';
import { decide } from '../routing/decide.ts';
import type { ColourPool } from '../upstream/pool.ts';
import { Exchange, type ExchangeContext } from './exchange.ts';
import { forwardRequestHeaders, type ForwardingPolicy } from './headers.ts';
import { RetryBudget } from './retry-budget.ts';
import { hasDotSegment } from './paths.ts';
import { proxyUpgrade } from './upgrade.ts';
import { answerOnSocket } from './failure.ts';
import type { Duplex } from 'node:stream';
import type { ClientLimiter } from './client-limiter.ts';
import { BodyBudget, bufferBody, bufferableLength } from './request-buffer.ts';

export type ListenerRole = 'main' | 'preview';

export interface DataPlaneDeps {
  readonly pools: Readonly<Record<Colour, ColourPool>>;
  readonly getSnapshot: () => RoutingSnapshot;
  readonly recorder: Recorder;
  readonly routing: RoutingConfig;
  readonly proxy: ProxyConfig;
  readonly role: ListenerRole;
  /** timeouts.responseMs: bounds the wait for an upgrade's answer (requests use the pool's). */
  readonly responseMs: number;
  readonly random?: RandomSource;
  /** Mints sticky ids for clients without the sticky cookie. */
  readonly mintId?: () => string;
  /** proxy.maxConcurrentPerClient, shared by the listeners of one process; none: no cap. */
  readonly clientLimiter?: ClientLimiter;
  /** The memory all buffered request bodies share (request-buffer.ts); one per process. */
  readonly bodyBudget?: BodyBudget;
}

const kClient = Symbol('turnout.client');
type CountedResponse = ServerResponse & { [kClient]: string; [kLimiter]: ClientLimiter };
const kLimiter = Symbol('turnout.limiter');

/** One shared listener: the limiter and client key ride on the response, no closure per request. */
function releaseClient(this: ServerResponse): void {
  const res = this as CountedResponse;
  res[kLimiter].release(res[kClient]);
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export function createDataPlane(deps: DataPlaneDeps): { handleRequest: RequestHandler; handleUpgrade: UpgradeHandler } {
  const { pools, getSnapshot, routing, role } = deps;
  const random = deps.random ?? Math.random;
  const mintId = deps.mintId ?? randomUUID;
  const maxRawHeaders = deps.proxy.maxHeaders * 2;
  const forwarding: ForwardingPolicy = {
    trustedProxies: new Set(deps.proxy.trustedProxies),
    proto: 'http',
  };
  const ctx: ExchangeContext = {
    recorder: deps.recorder,
    retryBudget: new RetryBudget(deps.proxy.retryBudget),
    exposeColour: routing.exposeColourHeader,
  };
  const limiter = deps.clientLimiter !== undefined && deps.clientLimiter.max > 0 ? deps.clientLimiter : undefined;
  // proxy.requestBufferBytes (0: off): small bodies read whole before an upstream connection.
  const bufferLimit = deps.proxy.requestBufferBytes ?? 0;
  const bodyBudget = deps.bodyBudget ?? new BodyBudget(1024 * bufferLimit);
  const override = routing.override;
  const sticky = routing.sticky;
  const cookieSuffix = '; Path=/; HttpOnly; SameSite=Lax';

  /** The colour for a request, and a Set-Cookie to send when a sticky id was minted. */
  function route(req: IncomingMessage, clientAddress: string): { colour: Colour; setCookie: string | undefined } {
    const snapshot = getSnapshot();
    if (role === 'preview') return { colour: snapshot.canary, setCookie: undefined };
    const cookieHeader = req.headers.cookie;
    let setCookie: string | undefined;
    let stickyKey: string | undefined;
    switch (sticky.by) {
      case 'cookie':
        stickyKey = readCookie(cookieHeader, sticky.cookie);
        if (stickyKey === undefined || stickyKey.length === 0) {
          stickyKey = mintId();
          setCookie = `${sticky.cookie}=${stickyKey}${cookieSuffix}`;
        }
        break;
      case 'header': {
        const value = req.headers[sticky.header];
        stickyKey = typeof value === 'string' && value.length > 0 ? value : undefined;
        break;
      }
      case 'ip':
        stickyKey = clientAddress;
        break;
      case 'none':
        stickyKey = undefined;
    }
    let overrideHeader: string | undefined;
    let overrideCookie: string | undefined;
    if (override.enabled) {
      const value = req.headers[override.header];
      overrideHeader = typeof value === 'string' ? value : undefined;
      overrideCookie = readCookie(cookieHeader, override.cookie);
    }
    return { colour: decide({ overrideHeader, overrideCookie, stickyKey }, snapshot, random), setCookie };
  }

  /** Checks shared by requests and upgrades; a reason to refuse, or undefined. */
  function refusal(req: IncomingMessage): [ErrorCode, string] | undefined {
    if (req.rawHeaders.length > maxRawHeaders) return ['TURNOUT_ERR_TOO_MANY_HEADERS', `more than ${deps.proxy.maxHeaders} header fields`];
    const url = req.url ?? '';
    if (url.charCodeAt(0) !== 0x2f /* / */ || hasDotSegment(url)) return ['TURNOUT_ERR_BAD_REQUEST', 'invalid request target'];
    return undefined;
  }

  const handleRequest: RequestHandler = (req, res) => {
    const refused = refusal(req);
    if (refused !== undefined) return reject(res, ...refused);
    const forwarded = forwardRequestHeaders(req.headers, peerAddress(req), forwarding);
    if (limiter !== undefined) {
      // Per real client (behind trusted proxies, the x-forwarded-for entry): client-limiter.ts.
      const client = forwarded.clientAddress;
      if (!limiter.tryAcquire(client)) return reject(res, 'TURNOUT_ERR_TOO_MANY_REQUESTS', `more than ${limiter.max} requests in flight from this client`);
      (res as CountedResponse)[kLimiter] = limiter;
      (res as CountedResponse)[kClient] = client;
      res.once('close', releaseClient);
    }
    const { colour, setCookie } = route(req, forwarded.clientAddress);
    ctx.retryBudget.deposit();
    const length = bufferableLength(req, bufferLimit);
    if (length > 0 && bodyBudget.tryTake(length)) {
      const headers = forwarded.headers;
      bufferBody(req, length, bodyBudget, (body) => new Exchange(req, res, colour, pools[colour], ctx, headers, setCookie, body).start());
      return;
    }
    new Exchange(req, res, colour, pools[colour], ctx, forwarded.headers, setCookie).start();
  };

  const handleUpgrade: UpgradeHandler = (req, socket, head) => {
    const refused = refusal(req);
    if (refused !== undefined) return answerOnSocket(socket, refused[0], errorBody(...refused));
    const forwarded = forwardRequestHeaders(req.headers, peerAddress(req), forwarding);
    const { colour, setCookie } = route(req, forwarded.clientAddress);
    proxyUpgrade(req, socket, head, { colour, pool: pools[colour], headers: forwarded.headers, setCookie, recorder: deps.recorder, exposeColour: routing.exposeColourHeader, responseMs: deps.responseMs });
  };

  return { handleRequest, handleUpgrade };
}

/** The peer's address; an IPv4 client of a dual-stack (`::`) listener as plain IPv4. */
function peerAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function reject(res: ServerResponse, code: ErrorCode, message: string): void {
  const body = errorBody(code, message);
  res.writeHead(ERRORS[code].statusCode, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  res.end(body);
}
