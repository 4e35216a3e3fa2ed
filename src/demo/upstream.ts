// A demo upstream for `npm start` and docker-compose: answers with its colour, version and the
// request path, serves /healthz, and can be told to misbehave so a rollout abort can be watched:
//   POST /fail?rate=0.3   answer 500 to 30% of requests (rate=0 heals)
//   POST /slow?ms=300     add 300 ms to every answer (ms=0 heals)
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoUpstream {
  readonly url: string;
  readonly server: http.Server;
  close(): Promise<void>;
}

export async function startDemoUpstream(colour: string, version: string, port: number, host = '127.0.0.1'): Promise<DemoUpstream> {
  let failRate = 0;
  let slowMs = 0;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://demo');
    const json = (status: number, body: unknown) => {
      const text = JSON.stringify(body) + '\n';
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (url.pathname === '/healthz') return json(200, { status: 'ok', colour });
    if (req.method === 'POST' && url.pathname === '/fail') {
      failRate = Math.min(1, Math.max(0, Number(url.searchParams.get('rate') ?? '1') || 0));
      return json(200, { colour, failRate });
    }
    if (req.method === 'POST' && url.pathname === '/slow') {
      slowMs = Math.min(60_000, Math.max(0, Number(url.searchParams.get('ms') ?? '0') || 0));
      return json(200, { colour, slowMs });
    }
    const answer = () => {
      if (Math.random() < failRate) return json(500, { colour, version, error: 'injected failure' });
      json(200, { colour, version, path: req.url });
    };
    req.resume();
    req.on('end', () => (slowMs > 0 ? setTimeout(answer, slowMs) : answer()));
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const a = server.address() as AddressInfo;
  return {
    url: `http://${host}:${a.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
