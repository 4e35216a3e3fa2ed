// A real upstream on 127.0.0.1:0 that records what it saw. Takes `t`, registers its own
// teardown, returns a handle (the @fastify/http-proxy test/helper pattern).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  bodyBytes: number;
  body: string;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, seen: SeenRequest) => void;

export interface Upstream {
  url: string;
  port: number;
  seen: SeenRequest[];
  server: http.Server;
  /** Replace how it answers (default: 200 JSON `{ name, path }`). */
  handle(handler: Handler): void;
  close(): Promise<void>;
}

interface TeardownHost {
  teardown(fn: () => unknown): void;
}

/** Default answer: 200 JSON naming the upstream and echoing the path; /healthz → 200. */
export async function startUpstream(t: TeardownHost, name: string, options: { keepBody?: boolean } = {}): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  let handler: Handler = (req, res) => {
    const body = JSON.stringify({ name, path: req.url });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const server = http.createServer((req, res) => {
    const record: SeenRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      bodyBytes: 0,
      body: '',
    };
    seen.push(record);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      record.bodyBytes += chunk.length;
      if (options.keepBody !== false && record.bodyBytes < 1_000_000) chunks.push(chunk);
    });
    req.on('end', () => {
      record.body = Buffer.concat(chunks).toString();
      handler(req, res, record);
    });
    req.on('error', () => {});
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  t.teardown(close);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    server,
    handle(h) {
      handler = h;
    },
    close,
  };
}

/** A port on 127.0.0.1 with nothing listening (bound then released). */
export async function deadPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
