// The per-request path of a proxy listener: read the routing facts, decide the colour from the
// current snapshot (synchronously: a flip is one reference swap), and hand the request to an
// Exchange. Nothing here awaits; nothing here allocates beyond the request's own objects.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock, type Colour, type RandomSource } from '../domain.ts';
import { ERRORS, errorBody, type ErrorCode } from '../errors.ts';
import type { ProxyConfig, RoutingConfig } from '../config/types.ts';
import type { Recorder } from '../metrics/recorder.ts';
import type { ResponseLog } from './access-log.ts';
import type { RoutingSnapshot } from '../state/model.ts';
import { readCookie } from '../routing/cookies.ts';
import { decide } from '../routing/decide.ts';
import { addressMatcher } from '../routing/cidr.ts';
import { isSignedForm, verifyOverride } from '../routing/override-token.ts';
import { isOverrideLink, overrideLinkHandler } from './override-link.ts';
import type { ColourPool } from '../upstream/pool.ts';
import { Exchange, type ExchangeContext } from './exchange.ts';
import { clientAddressOf, forwardRequestHeaders, isValidHost, type ForwardingPolicy } from './headers.ts';
import { RetryBudget } from './retry-budget.ts';
import { hasDotSegment } from './paths.ts';
import { proxyUpgrade } from './upgrade.ts';
import { answerOnSocket } from './failure.ts';
import type { Duplex } from 'node:stream';
import type { ShadowHook } from '../shadow/mirror.ts';
import type { ClientLimiter } from './client-limiter.ts';
import { BodyBudget, bufferBody, bufferableLength } from './request-buffer.ts';

export type ListenerRole = 'main' | 'preview';

export interface DataPlaneDeps {
  readonly pools: Readonly<Record<Colour, ColourPool>>;
  readonly getSnapshot: () => RoutingSnapshot;
  readonly recorder: Recorder;
  /** Access log / gateway-error causes (src/proxy/access-log.ts); none: nothing is logged. */
  readonly responseLog?: ResponseLog;
  readonly routing: RoutingConfig;
  readonly proxy: ProxyConfig;
  readonly role: ListenerRole;
  /** timeouts.responseMs: bounds the wait for an upgrade's answer (requests use the pool's). */
  readonly responseMs: number;
  /** timeouts.connectMs: bounds an upgrade's connect (requests use the pool's). */
  readonly connectMs: number;
  readonly random?: RandomSource;
  /** Mints sticky ids for clients without the sticky cookie. */
  readonly mintId?: () => string;
  /** Client addresses (CIDR ranges) allowed on this listener (preview.allowFrom); absent: everyone. */
  readonly allowFrom?: readonly string[];
  /** For the expiry of signed override values (default: the system clock). */
  readonly clock?: Clock;
  /** The listener's scheme for x-forwarded-proto: `https` behind TLS (default `http`). */
  readonly proto?: 'http' | 'https';
  /** CONTRACT §9: mirroring to the idle colour; asked only while snapshot.shadowPercent > 0. */
  readonly shadow?: ShadowHook;
  /** proxy.maxConcurrentPerClient, shared by the listeners of one process; none: no cap. */
  readonly clientLimiter?: ClientLimiter;
  /** The memory all buffered request bodies share (request-buffer.ts); one per process. */
  readonly bodyBudget?: BodyBudget;
}

const kClient = Symbol('turnout.client');
type CountedResponse = ServerResponse & { [kClient]: string; [kLimiter]: ClientLimiter | undefined };
const kLimiter = Symbol('turnout.limiter');

/**
 * Gives the client's slot back once (the limiter and client key ride on the response, no closure
 * per request). Exchange calls it when the response closes (ExchangeContext.closed), so a request
 * costs one 'close' listener: a second one on the same event turns Node's listener slot into an
 * array, which cost about 1,100 instructions per request (bench/micro/proxy-callgrind.sh).
 */
function releaseClientOf(res: ServerResponse): void {
  const counted = res as CountedResponse;
  const limiter = counted[kLimiter];
  if (limiter === undefined) return;
  counted[kLimiter] = undefined;
  limiter.release(counted[kClient]);
}

/** The same as a 'close' listener, for a request whose body is read before its Exchange exists. */
function releaseClient(this: ServerResponse): void {
  releaseClientOf(this);
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface DataPlane {
  readonly handleRequest: RequestHandler;
  readonly handleUpgrade: UpgradeHandler;
  /** node:http's shouldUpgradeCallback: which upgrade requests are tunnelled (the rest are plain requests). */
  readonly shouldUpgrade: (req: IncomingMessage) => boolean;
  /**
   * No service matched (CONTRACT §10, proxy/dispatch.ts): the request's own refusal (400, 431,
   * 403) when it has one, else 404 with the error body (no `colour`: no service, no colour).
   */
  readonly handleUnmatched: RequestHandler;
  readonly handleUnmatchedUpgrade: UpgradeHandler;
}

export function createDataPlane(deps: DataPlaneDeps): DataPlane {
  const { pools, getSnapshot, routing, role, shadow } = deps;
  const random = deps.random ?? Math.random;
  const mintId = deps.mintId ?? randomUUID;
  const maxRawHeaders = deps.proxy.maxHeaders * 2;
  const forwarding: ForwardingPolicy = {
    trustedProxies: new Set(deps.proxy.trustedProxies),
    proto: deps.proto ?? 'http',
    underscoresInHeaders: deps.proxy.underscoresInHeaders,
  };
  const ctx: ExchangeContext = {
    recorder: deps.recorder,
    retryBudgets: { blue: new RetryBudget(deps.proxy.retryBudget), green: new RetryBudget(deps.proxy.retryBudget) },
    exposeColour: routing.exposeColourHeader,
    ...(deps.responseLog ? { responses: deps.responseLog } : {}),
    ...(deps.clientLimiter !== undefined && deps.clientLimiter.max > 0 ? { closed: releaseClientOf } : {}),
  };
  const limiter = deps.clientLimiter !== undefined && deps.clientLimiter.max > 0 ? deps.clientLimiter : undefined;
  // proxy.requestBufferBytes (0: off): small bodies read whole before an upstream connection.
  const bufferLimit = deps.proxy.requestBufferBytes ?? 0;
  const bodyBudget = deps.bodyBudget ?? new BodyBudget(1024 * bufferLimit);
  const override = routing.override;
  const sticky = routing.sticky;
  const cookieSuffix = '; Path=/; HttpOnly; SameSite=Lax';
  const clock = deps.clock ?? systemClock;

  // Who may pick a colour (issue 12, item 7). A plain override value counts only from
  // routing.override.allowFrom; a signed one (override-token.ts) from anyone while it is valid.
  const overrideFrom = addressMatcher(override.allowFrom);
  const secret = override.secret;
  function overrideValue(value: string | undefined, clientAddress: string): string | undefined {
    if (value === undefined) return undefined;
    if (secret.length > 0 && isSignedForm(value)) return verifyOverride(value, secret, clock.now())?.value;
    return overrideFrom.everyone || overrideFrom.matches(clientAddress) ? value : undefined;
  }
  const overrideLink =
    role === 'main' && override.enabled && secret.length > 0 ? overrideLinkHandler({ cookie: override.cookie, secret, now: () => clock.now() }) : undefined;
  // preview.allowFrom: who may use this listener at all.
  const listenerFrom = deps.allowFrom === undefined ? undefined : addressMatcher(deps.allowFrom);
  const admitAll = listenerFrom === undefined || listenerFrom.everyone;

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
      overrideHeader = overrideValue(typeof value === 'string' ? value : undefined, clientAddress);
      overrideCookie = overrideValue(readCookie(cookieHeader, override.cookie), clientAddress);
    }
    return { colour: decide({ overrideHeader, overrideCookie, stickyKey }, snapshot, random), setCookie };
  }

  /** The last Host value found valid: most requests repeat it, and then cost one comparison. */
  let validHost = '';

  /** Checks shared by requests and upgrades; a reason to refuse, or undefined. */
  function refusal(req: IncomingMessage): [ErrorCode, string] | undefined {
    const raw = req.rawHeaders;
    if (raw.length > maxRawHeaders) return ['TURNOUT_ERR_TOO_MANY_HEADERS', `more than ${deps.proxy.maxHeaders} header fields`];
    const url = req.url ?? '';
    if (url.charCodeAt(0) !== 0x2f /* / */ || hasDotSegment(url)) return ['TURNOUT_ERR_BAD_REQUEST', 'invalid request target'];
    // RFC 9112 §3.2: 400 for a request without Host (Node enforces it for HTTP/1.1 only; an
    // HTTP/1.0 request without one would be forwarded with the target's address as Host), with
    // more than one Host line (Node keeps the first and drops the rest), or with an invalid one.
    const host = req.headers.host;
    if (host === undefined) return ['TURNOUT_ERR_BAD_REQUEST', 'missing Host header'];
    if (host !== validHost) {
      if (!isValidHost(host)) return ['TURNOUT_ERR_BAD_REQUEST', 'invalid Host header'];
      validHost = host;
    }
    let hosts = 0;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      if (name.length === 4 && (name === 'Host' || name === 'host' || name.toLowerCase() === 'host') && ++hosts > 1) {
        return ['TURNOUT_ERR_BAD_REQUEST', 'more than one Host header'];
      }
    }
    if (!admitAll && !listenerFrom!.matches(clientAddressOf(req.headers, peerAddress(req), forwarding))) {
      return ['TURNOUT_ERR_FORBIDDEN', `this client may not use the ${role} listener`];
    }
    return undefined;
  }

  const handleRequest: RequestHandler = (req, res) => {
    const refused = refusal(req);
    if (refused !== undefined) return reject(res, ...refused);
    if (overrideLink !== undefined && isOverrideLink(req.url!)) return overrideLink(req, res);
    const forwarded = forwardRequestHeaders(req.headers, peerAddress(req), forwarding);
    if (limiter !== undefined) {
      // Per real client (behind trusted proxies, the x-forwarded-for entry): client-limiter.ts.
      const client = forwarded.clientAddress;
      if (!limiter.tryAcquire(client)) return reject(res, 'TURNOUT_ERR_TOO_MANY_REQUESTS', `more than ${limiter.max} requests in flight from this client`);
      (res as CountedResponse)[kLimiter] = limiter;
      (res as CountedResponse)[kClient] = client;
    }
    const { colour, setCookie } = route(req, forwarded.clientAddress);
    // Shadow off (percent 0): this one branch is all it costs per request.
    const snapshot = getSnapshot();
    const tap = snapshot.shadowPercent > 0 && shadow !== undefined ? shadow.begin(req, forwarded.headers, colour, snapshot) : undefined;
    const length = bufferableLength(req, bufferLimit);
    if (length > 0 && bodyBudget.tryTake(length)) {
      const headers = forwarded.headers;
      // The client may go before its Exchange exists. `on`, not `once`: a response closes once,
      // and once() would wrap the listener per request.
      if (limiter !== undefined) res.on('close', releaseClient);
      bufferBody(req, length, bodyBudget, (body) => new Exchange(req, res, colour, pools[colour], ctx, headers, setCookie, tap, body).start());
      return;
    }
    new Exchange(req, res, colour, pools[colour], ctx, forwarded.headers, setCookie, tap).start();
  };

  // Upgrades (issue 12, item 4): only the allowed protocols are tunnelled, only for GET (RFC 6455
  // §4.1), and never with a body. Any other Upgrade is ignored (RFC 9110 §7.8): the request is
  // served as plain HTTP/1.1, with Upgrade and what Connection names stripped as hop-by-hop. h2c
  // in particular must never be tunnelled: its streams would skip the path filter, the header
  // limit and x-forwarded-for.
  const upgradeProtocols = new Set(deps.proxy.upgradeProtocols);
  /** The allowed protocols the request offers, as the Upgrade value to forward; undefined when none. */
  function offeredProtocols(req: IncomingMessage): string | undefined {
    const value = req.headers.upgrade;
    if (value === undefined) return undefined;
    let offered: string | undefined;
    for (const token of value.split(',')) {
      const protocol = token.trim().toLowerCase();
      if (upgradeProtocols.has(protocol)) offered = offered === undefined ? protocol : `${offered}, ${protocol}`;
    }
    return offered;
  }
  const shouldUpgrade = (req: IncomingMessage): boolean => req.method === 'GET' && offeredProtocols(req) !== undefined;

  const handleUpgrade: UpgradeHandler = (req, socket, head) => {
    const refused = refusal(req) ?? upgradeRefusal(req);
    if (refused !== undefined) return answerOnSocket(socket, refused[0], errorBody(...refused));
    const forwarded = forwardRequestHeaders(req.headers, peerAddress(req), forwarding);
    const { colour, setCookie } = route(req, forwarded.clientAddress);
    proxyUpgrade(req, socket, head, {
      colour,
      pool: pools[colour],
      headers: forwarded.headers,
      protocols: offeredProtocols(req) ?? 'websocket',
      setCookie,
      recorder: deps.recorder,
      exposeColour: routing.exposeColourHeader,
      connectMs: deps.connectMs,
      responseMs: deps.responseMs,
    });
  };

  const handleUnmatched: RequestHandler = (req, res) => {
    const refused = refusal(req);
    if (refused !== undefined) return reject(res, ...refused);
    // The connection stays open: a client that asked for an unknown host or path did nothing wrong.
    const body = errorBody('TURNOUT_ERR_NOT_FOUND', NO_SERVICE);
    res.writeHead(404, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const handleUnmatchedUpgrade: UpgradeHandler = (req, socket) => {
    const refused = refusal(req) ?? upgradeRefusal(req) ?? (['TURNOUT_ERR_NOT_FOUND', NO_SERVICE] as [ErrorCode, string]);
    answerOnSocket(socket, refused[0], errorBody(...refused));
  };

  return { handleRequest, handleUpgrade, shouldUpgrade, handleUnmatched, handleUnmatchedUpgrade };
}

const NO_SERVICE = 'no service matches this host and path';

/**
 * An upgrade request with a body is refused: the bytes after its head belong to the new protocol,
 * so a body cannot be framed, and a Content-Length forwarded without it desyncs the upstream
 * connection (issue 12, item 4).
 */
function upgradeRefusal(req: IncomingMessage): [ErrorCode, string] | undefined {
  const length = req.headers['content-length'];
  if ((length !== undefined && Number(length) !== 0) || req.headers['transfer-encoding'] !== undefined) {
    return ['TURNOUT_ERR_BAD_REQUEST', 'an upgrade request must not carry a body'];
  }
  return undefined;
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
