// A proxy listener: a plain node:http server around the data plane. Plain node:http rather than
// fastify here because the per-request router, hooks and reply objects cost throughput the data
// plane does not need (see README "Data-plane design"); the admin listener is fastify.
import http from 'node:http';
import type { Socket } from 'node:net';
import type { TimeoutsConfig } from '../config/types.ts';
import { errorBody, type ErrorCode } from '../errors.ts';
import { answerOnSocket } from './failure.ts';
import type { DataPlane } from './data-plane.ts';
import { armBodyTimeout, watchStalledReaders } from './slow-clients.ts';

export function createProxyListener(
  handlers: DataPlane,
  timeouts: TimeoutsConfig,
): http.Server {
  const server = http.createServer(
    {
      // Slow-loris defences: headers within 30 s (or the idle limit if lower), whole request
      // within 5 min, and a connection idle for clientIdleMs is closed.
      headersTimeout: Math.min(30_000, timeouts.clientIdleMs),
      requestTimeout: 300_000,
      keepAliveTimeout: timeouts.clientIdleMs,
      connectionsCheckingInterval: 1_000,
      // Only allowed upgrades (websocket) reach 'upgrade'; others are plain requests (upgrade.ts).
      shouldUpgradeCallback: handlers.shouldUpgrade,
    },
    (req, res) => {
      // Slow bodies (timeouts.clientBodyMs) and stalled readers (timeouts.sendMs): slow-clients.ts.
      armBodyTimeout(req, res, timeouts.clientBodyMs, timeouts.clientIdleMs);
      handlers.handleRequest(req, res);
    },
  );
  server.timeout = timeouts.clientIdleMs;
  watchStalledReaders(server, timeouts.sendMs);
  server.on('upgrade', handlers.handleUpgrade);
  server.on('clientError', answerClientError);
  return server;
}

/**
 * node:http's 'clientError': a client that sends garbage gets 400 (431 for oversized headers,
 * 408 for a request that took too long) and never crashes us. Shared with the TLS listener.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  const code: ErrorCode =
    err.code === 'HPE_HEADER_OVERFLOW' ? 'TURNOUT_ERR_TOO_MANY_HEADERS' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'TURNOUT_ERR_REQUEST_TIMEOUT' : 'TURNOUT_ERR_BAD_REQUEST';
  answerOnSocket(socket, code, errorBody(code));
}
