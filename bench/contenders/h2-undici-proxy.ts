// The Node ceiling behind TLS: node:http2's secure server (ALPN h2 + http/1.1, as Turnout's) and
// undici `dispatch` to one origin. No routing, no metrics; pseudo-headers and hop-by-hop fields
// dropped, :authority → Host, backpressure honoured both ways.
// Usage: node bench/contenders/h2-undici-proxy.ts <origin-url> <cert.pem> <key.pem>; prints `LISTENING <port>`.
import http2 from 'node:http2';
import type http from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Pool, type Dispatcher } from 'undici';

const [origin, cert, key] = process.argv.slice(2);
if (!origin || !cert || !key) throw new Error('usage: h2-undici-proxy.ts <origin-url> <cert> <key>');
const pool = new Pool(origin, { keepAliveTimeout: 60_000 });
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect']);

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

const server = http2.createSecureServer({ allowHTTP1: true, cert: readFileSync(cert), key: readFileSync(key), settings: { maxConcurrentStreams: 100 } }, (req: Req, res: Res) => {
  const headers: Record<string, string | string[]> = {};
  for (const name in req.headers) {
    const value = req.headers[name];
    if (value !== undefined && !HOP.has(name) && name.charCodeAt(0) !== 0x3a) headers[name] = value;
  }
  const authority = req.headers[':authority'];
  if (typeof authority === 'string') headers.host = authority;
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(controller) {
      res.once('close', () => {
        if (!res.writableEnded) controller.abort(new Error('client closed'));
      });
    },
    onResponseStart(_controller, statusCode, h) {
      const out: Record<string, string | string[]> = {};
      for (const name in h) {
        const value = h[name];
        if (value !== undefined && !HOP.has(name)) out[name] = value;
      }
      (res as http.ServerResponse).writeHead(statusCode, out);
    },
    onResponseData(controller, chunk) {
      if (!(res as http.ServerResponse).write(chunk)) {
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
        (res as http.ServerResponse).writeHead(502, { 'content-type': 'text/plain' });
        res.end('bad gateway\n');
      }
    },
  };
  pool.dispatch({ path: req.url ?? '/', method: (req.method ?? 'GET') as Dispatcher.HttpMethod, headers, body: hasBody ? (req as http.IncomingMessage) : null }, handler);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${(server.address() as AddressInfo).port}\n`);
});
// As undici-proxy.ts: exit on SIGTERM, so `--cpu-prof` writes its profile.
process.on('SIGTERM', () => process.exit(0));
