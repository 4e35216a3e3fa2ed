// The origin every contender forwards to: one process, two listeners (`blue` and `green`)
// so a split or a flip can be seen in the per-colour counters. Small fixed body, keep-alive.
//   GET  /healthz               200 ok (not counted)
//   GET  /__bench/stats         {"blue":n,"green":n} requests counted so far (not counted)
//   POST /upload                consumes the body, answers {"bytes":n}
//   GET  /download?bytes=N      streams N bytes with backpressure
//   anything else               200 "hello from <colour>\n"
// Prints `ORIGIN {"blue":port,"green":port}` once both listen on 127.0.0.1.
// For bench/shadow.ts: ORIGIN_GREEN_DELAY_MS=N: green answers "anything else" N ms late (a slow
// idle colour); ORIGIN_SAME_ANSWER=1: both colours answer "anything else" alike ("hello\n", no
// x-origin), so a shadow comparison finds them equal.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const counts = { blue: 0, green: 0 };
const CHUNK = Buffer.alloc(64 * 1024, 'x');
const GREEN_DELAY_MS = Number(process.env.ORIGIN_GREEN_DELAY_MS ?? 0);
const SAME_ANSWER = process.env.ORIGIN_SAME_ANSWER === '1';

function serve(colour: 'blue' | 'green'): http.Server {
  const body = Buffer.from(SAME_ANSWER ? 'hello\n' : `hello from ${colour}\n`);
  const tag: Record<string, string> = SAME_ANSWER ? {} : { 'x-origin': colour };
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 3 });
      res.end('ok\n');
      return;
    }
    if (url === '/__bench/stats') {
      const json = JSON.stringify(counts);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      res.end(json);
      return;
    }
    counts[colour]++;
    if (url === '/upload') {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      req.on('end', () => {
        const json = JSON.stringify({ bytes });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
        res.end(json);
      });
      req.on('error', () => res.destroy());
      return;
    }
    if (url.startsWith('/download')) {
      const total = Number(new URL(url, 'http://x').searchParams.get('bytes') ?? 0);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
      let left = total;
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, CHUNK.length);
          left -= n;
          if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
      req.resume();
      return;
    }
    req.resume();
    const answer = () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length, ...tag });
      res.end(body);
    };
    if (colour === 'green' && GREEN_DELAY_MS > 0) setTimeout(answer, GREEN_DELAY_MS);
    else answer();
  });
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  return server;
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const blue = serve('blue');
const green = serve('green');
const ports = { blue: await listen(blue), green: await listen(green) };
process.stdout.write(`ORIGIN ${JSON.stringify(ports)}\n`);
process.on('SIGTERM', () => process.exit(0));
