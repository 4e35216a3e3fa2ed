// HTTP/1.1 Upgrade (WebSocket) through the same routing decision as any request, forwarding the
// headers the upstream needs (Origin, Authorization, Cookie, x-forwarded-*) — unlike
// @fastify/http-proxy, which re-originates the connection with only the cookie (PITFALLS).
import http from 'node:http';
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
  readonly setCookie: string | undefined;
  readonly recorder: Recorder;
  readonly exposeColour: boolean;
  /** No answer to the upgrade within this long → 504 (timeouts.responseMs). */
  readonly responseMs: number;
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

  const headers = { ...route.headers, connection: 'Upgrade', upgrade: req.headers.upgrade ?? 'websocket' };
  const origin = new URL(target.url);
  const upstreamReq = http.request({
    host: origin.hostname,
    port: origin.port,
    method: req.method,
    path: req.url,
    headers,
    setHost: false,
  });
  // Connecting and answering the upgrade are bounded like any request; the tunnel is not.
  upstreamReq.setTimeout(route.responseMs, () =>
    upstreamReq.destroy(Object.assign(new Error('no answer to the upgrade in time'), { code: 'ETIMEDOUT' })),
  );
  upstreamReq.on('upgrade', (upstreamRes, upstreamSocket, upstreamHead) => {
    upstreamSocket.setTimeout(0);
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
    // The upstream declined the upgrade: pass its answer on and close.
    record(upstreamRes.statusCode ?? 502, (upstreamRes.statusCode ?? 502) >= 500 ? 'status5xx' : 'ok');
    const lines = [`HTTP/1.1 ${upstreamRes.statusCode} ${upstreamRes.statusMessage ?? ''}`];
    // The same hop-by-hop rule as every proxied response (a rare path: the copy to Buffers is fine).
    const kept = forwardResponseHeaders(upstreamRes.rawHeaders.map((h) => Buffer.from(h, 'latin1')));
    for (let i = 0; i < kept.length; i += 2) lines.push(`${kept[i]}: ${kept[i + 1]}`);
    lines.push('connection: close');
    socket.write(responseHead(lines));
    upstreamRes.pipe(socket);
  });
  upstreamReq.on('error', (err) => {
    const failure = classifyUpstreamError(err);
    record(ERRORS[failure.code].statusCode, failure.kind);
    answerOnSocket(socket, failure.code, gatewayErrorBody(failure.code, route.colour));
  });
  socket.on('close', () => {
    if (!recorded) {
      record(0, 'client_abort');
      upstreamReq.destroy();
    }
  });
  upstreamReq.end();
}

