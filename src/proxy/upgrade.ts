// HTTP/1.1 Upgrade (WebSocket) through the same routing decision as any request, forwarding the
// headers the upstream needs (Origin, Authorization, Cookie, x-forwarded-*) — unlike
// @fastify/http-proxy, which re-originates the connection with only the cookie (PITFALLS).
//
// An upgrade request owns its upstream connection, and never shares it (issue 12, item 4):
// - `agent: false`, and the socket is destroyed after a non-101 answer. With Node's global
//   keep-alive agent a declined upgrade returned its socket to the pool, and a Content-Length
//   forwarded without its body then made the upstream read the next client's request as that
//   body (a request-smuggling desync, the next handshake lost, a smuggled request delivered).
// - No body: an upgrade request with one is refused (data-plane `upgradeRefusal`), and
//   Content-Length is never forwarded. A WebSocket handshake is a bodiless GET (RFC 6455 §4.1).
// - Only the allowed protocols (`proxy.upgradeProtocols`, default `websocket`) reach this
//   path; anything else (h2c: its streams would bypass every per-request check) is served as
//   plain HTTP/1.1 with the Upgrade ignored (RFC 9110 §7.8), see `shouldUpgrade` in data-plane.ts.
// - connectMs bounds the TCP connect (and TLS handshake), responseMs the answer after it.
// - IPv6 literals lose their brackets (`URL.hostname` keeps them: ENOTFOUND), https targets get TLS.
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Colour } from '../domain.ts';
import type { Recorder } from '../metrics/recorder.ts';
import type { ColourPool } from '../upstream/pool.ts';
import { forwardResponseHeaders, type OutgoingHeaders } from './headers.ts';
import { ERRORS } from '../errors.ts';
import { answerOnSocket, classifyUpstreamError, gatewayErrorBody, NO_HEALTHY_TARGET } from './failure.ts';

export interface UpgradeRoute {
  readonly colour: Colour;
  readonly pool: ColourPool;
  /** Forwarded request headers, hop-by-hop already removed. */
  readonly headers: OutgoingHeaders;
  /** The Upgrade value to send: only the allowed protocols the client offered. */
  readonly protocols: string;
  readonly setCookie: string | undefined;
  readonly recorder: Recorder;
  readonly exposeColour: boolean;
  /** The connect (and TLS handshake) to the target within this long, else 504 (timeouts.connectMs). */
  readonly connectMs: number;
  /** No answer to the upgrade within this long after connecting → 504 (timeouts.responseMs). */
  readonly responseMs: number;
}

/** Host and port of a target URL for node:net: `[::1]` → `::1`. */
export function connectAddress(url: URL): { host: string; port: number; secure: boolean } {
  const secure = url.protocol === 'https:';
  const host = url.hostname.startsWith('[') && url.hostname.endsWith(']') ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port: url.port === '' ? (secure ? 443 : 80) : Number(url.port), secure };
}

function timeoutError(message: string): Error {
  return Object.assign(new Error(message), { code: 'ETIMEDOUT' });
}

export function proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, route: UpgradeRoute): void {
  socket.on('error', () => socket.destroy());
  const target = route.pool.pick();
  if (target === undefined) {
    route.recorder.end(route.colour, null, 503, 0, 'no_healthy_target');
    return answerOnSocket(socket, NO_HEALTHY_TARGET.code, gatewayErrorBody(NO_HEALTHY_TARGET.code, route.colour));
  }
  const started = performance.now();
  route.recorder.begin(target);
  let recorded = false;
  const record = (status: number, outcome: Parameters<Recorder['end']>[4]) => {
    if (recorded) return;
    recorded = true;
    route.recorder.end(route.colour, target, status, performance.now() - started, outcome);
    route.pool.reportOutcome(target, outcome);
  };

  /** A response head to the client: the lines, plus the colour and a minted sticky cookie, as on every answer. */
  const responseHead = (lines: string[]): string => {
    if (route.exposeColour) lines.push(`x-turnout-colour: ${route.colour}`);
    if (route.setCookie !== undefined) lines.push(`set-cookie: ${route.setCookie}`);
    return lines.join('\r\n') + '\r\n\r\n';
  };

  const headers: OutgoingHeaders = { ...route.headers, connection: 'Upgrade', upgrade: route.protocols };
  delete headers['content-length'];
  const address = connectAddress(new URL(target.url));
  const options: https.RequestOptions = {
    host: address.host,
    port: address.port,
    method: req.method,
    path: req.url,
    headers,
    setHost: false,
    // A fresh connection, never pooled: see the file comment.
    agent: false,
  };
  // TLS to the target verifies its certificate against the target's own name (SNI likewise;
  // none for an IP literal, which is checked against the certificate's IP SANs), not against the
  // client's Host, which names the public site.
  if (address.secure) options.servername = isIP(address.host) === 0 ? address.host : '';
  const upstreamReq = address.secure ? https.request(options) : http.request(options);

  let timer: NodeJS.Timeout | undefined = setTimeout(
    () => upstreamReq.destroy(timeoutError('no connection to the target in time')),
    route.connectMs,
  );
  const clearTimer = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  upstreamReq.once('socket', (s) => {
    s.once(address.secure ? 'secureConnect' : 'connect', () => {
      clearTimer();
      // Connecting and answering the upgrade are bounded like any request; the tunnel is not.
      timer = setTimeout(() => upstreamReq.destroy(timeoutError('no answer to the upgrade in time')), route.responseMs);
    });
  });

  let answered = false;
  upstreamReq.on('upgrade', (upstreamRes, upstreamSocket, upstreamHead) => {
    clearTimer();
    answered = true;
    // The upstream may only switch to a protocol we offered (and allow).
    const switched = String(upstreamRes.headers.upgrade ?? '').trim().toLowerCase();
    if (!route.protocols.toLowerCase().split(/\s*,\s*/).includes(switched)) {
      upstreamSocket.destroy();
      record(502, 'reset');
      answerOnSocket(socket, 'TURNOUT_ERR_BAD_GATEWAY', gatewayErrorBody('TURNOUT_ERR_BAD_GATEWAY', route.colour));
      return;
    }
    record(101, 'ok');
    const lines = [`HTTP/1.1 101 ${upstreamRes.statusMessage ?? 'Switching Protocols'}`];
    const raw = upstreamRes.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) lines.push(`${raw[i]}: ${raw[i + 1]}`);
    socket.write(responseHead(lines));
    if (upstreamHead.length > 0) socket.write(upstreamHead);
    if (head.length > 0) upstreamSocket.write(head);
    // No half-open tunnels: node:http sockets allow half-open, and a WebSocket has its own close
    // handshake, so when either side ends or fails, both are torn down.
    const teardown = () => {
      socket.destroy();
      upstreamSocket.destroy();
    };
    upstreamSocket.on('error', teardown);
    // One side finished: flush and end the other, and give the pair a moment to close cleanly.
    const finish = (other: Duplex) => {
      other.end();
      setTimeout(teardown, 1_000).unref();
    };
    upstreamSocket.on('end', () => finish(socket));
    socket.on('end', () => finish(upstreamSocket));
    socket.on('close', teardown);
    upstreamSocket.on('close', teardown);
    upstreamSocket.pipe(socket);
    socket.pipe(upstreamSocket);
  });
  upstreamReq.on('response', (upstreamRes) => {
    clearTimer();
    answered = true;
    // The upstream declined the upgrade: pass its answer on and close both connections.
    record(upstreamRes.statusCode ?? 502, (upstreamRes.statusCode ?? 502) >= 500 ? 'status5xx' : 'ok');
    const lines = [`HTTP/1.1 ${upstreamRes.statusCode} ${upstreamRes.statusMessage ?? ''}`];
    // The same hop-by-hop rule as every proxied response (a rare path: the copy to Buffers is fine).
    const kept = forwardResponseHeaders(upstreamRes.rawHeaders.map((h) => Buffer.from(h, 'latin1')));
    for (let i = 0; i < kept.length; i += 2) lines.push(`${kept[i]}: ${kept[i + 1]}`);
    lines.push('connection: close');
    socket.write(responseHead(lines));
    upstreamRes.pipe(socket);
    // Never reused, whatever the upstream said about keep-alive.
    const drop = () => upstreamReq.destroy();
    upstreamRes.once('end', drop);
    upstreamRes.once('error', () => {
      drop();
      socket.destroy();
    });
  });
  upstreamReq.on('error', (err) => {
    clearTimer();
    if (answered) return void socket.destroy(); // mid-answer: the client sees a cut-off response
    const failure = classifyUpstreamError(err);
    record(ERRORS[failure.code].statusCode, failure.kind);
    answerOnSocket(socket, failure.code, gatewayErrorBody(failure.code, route.colour));
  });
  socket.on('close', () => {
    if (!recorded) {
      clearTimer();
      record(0, 'client_abort');
      upstreamReq.destroy();
    }
  });
  upstreamReq.end();
}
