// One upstream target of the soak (`npm run bench:soak`): its own process, so the soak can
// SIGKILL it and start it again on the same port. Usage: node bench/soak-target.ts NAME PORT
//   GET  /healthz           200 ok
//   POST /upload            consumes the body, answers {"bytes":n}
//   GET  /download?bytes=N  streams N bytes with backpressure
//   GET  /slow?ms=N         answers after N ms (clients abort some of these)
//   anything else           200 "hello from NAME"
// Prints `TARGET <port>` once listening on 127.0.0.1.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const name = process.argv[2] ?? 'target';
const port = Number(process.argv[3] ?? 0);
const body = Buffer.from(`hello from ${name}\n`);
const CHUNK = Buffer.alloc(64 * 1024, 'x');

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  if (url === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 3 });
    res.end('ok\n');
    return;
  }
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
  req.resume();
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
    res.on('close', () => {
      left = 0;
    });
    pump();
    return;
  }
  if (url.startsWith('/slow')) {
    const ms = Number(new URL(url, 'http://x').searchParams.get('ms') ?? 1000);
    const timer = setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
      res.end(body);
    }, ms);
    res.on('close', () => clearTimeout(timer));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length, 'x-target': name });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`TARGET ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
