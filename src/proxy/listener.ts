// A proxy listener: a plain node:http server around the data plane. Plain node:http rather than
// fastify here because the per-request router, hooks and reply objects cost throughput the data
// plane does not need (see README "Data-plane design"); the admin listener is fastify.
import http from 'node:http';
import type { Socket } from 'node:net';
import type { TimeoutsConfig } from '../config/types.ts';
import type { RequestHandler, UpgradeHandler } from './data-plane.ts';

export function createProxyListener(
  handlers: { handleRequest: RequestHandler; handleUpgrade: UpgradeHandler },
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
    },
    handlers.handleRequest,
  );
  server.timeout = timeouts.clientIdleMs;
  server.on('upgrade', handlers.handleUpgrade);
  // A client that sends garbage gets 400 (or 431 for oversized headers) and never crashes us.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const reason = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
    const body = JSON.stringify({ statusCode: status, error: reason, message: reason.toLowerCase() });
    socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
  });
  return server;
}
