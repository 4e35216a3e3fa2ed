// The Node ceiling: a minimal node:http server forwarding with undici `dispatch` to one origin.
// No routing, no metrics; hop-by-hop headers stripped, backpressure honoured both ways.
// Usage: node bench/contenders/undici-proxy.ts <origin-url>; prints `LISTENING <port>`.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool, type Dispatcher } from 'undici';

const origin = process.argv[2];
if (!origin) throw new Error('usage: undici-proxy.ts <origin-url>');
const pool = new Pool(origin, { keepAliveTimeout: 60_000 });

// RFC 9110 §7.6.1 hop-by-hop fields (plus `te`/`upgrade`, which undici refuses).
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect']);

function forwardHeaders(headers: http.IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !HOP.has(name)) out[name] = value;
  }
  return out;
}

const server = http.createServer((req, res) => {
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  const handler: Dispatcher.DispatchHandler = {
    // Defining onRequestStart selects undici's controller-based handler API.
    onRequestStart(controller) {
      // A client that hangs up cancels the upstream request.
      res.once('close', () => {
        if (!res.writableFinished) controller.abort(new Error('client closed'));
      });
    },
    onResponseStart(controller, statusCode, headers) {
      const out: Record<string, string | string[]> = {};
      for (const name in headers) {
        const value = headers[name];
        if (value !== undefined && !HOP.has(name)) out[name] = value;
      }
      res.writeHead(statusCode, out);
    },
    onResponseData(controller, chunk) {
      if (!res.write(chunk)) {
        controller.pause();
        res.once('drain', () => controller.resume());
      }
    },
    onResponseEnd() {
      res.end();
    },
    onResponseError(_controller, err) {
      if (res.headersSent) res.destroy(err);
      else {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('bad gateway\n');
      }
    },
  };
  pool.dispatch(
    {
      path: req.url ?? '/',
      method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
      headers: forwardHeaders(req.headers),
      body: hasBody ? req : null,
    },
    handler,
  );
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
