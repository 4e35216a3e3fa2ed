// A minimal HTTP/1.1 origin over raw TCP that frames requests by Content-Length and keeps
// connections alive, the way a typical app server does: it answers as soon as it has a request
// head (before the body), and then reads the declared body off the connection. It records every
// request head it parsed, per connection, so a test can see exactly what reached the origin and
// whether one client's bytes were read as part of another's request (a desync).
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface RawSeen {
  /** Which TCP connection (0, 1, …) carried it. */
  readonly connection: number;
  readonly requestLine: string;
  readonly headers: Record<string, string>;
}

/** How the origin answers a request head: a whole response, or 'upgrade' to switch to an echo tunnel. */
export type RawAnswer = (seen: RawSeen) => string | 'upgrade';

export interface RawUpstream {
  readonly url: string;
  readonly port: number;
  readonly seen: RawSeen[];
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startRawUpstream(t: { teardown(fn: () => unknown): void }, answer: RawAnswer, host = '127.0.0.1'): Promise<RawUpstream> {
  const seen: RawSeen[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((socket) => {
    const id = connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    let bodyLeft = 0;
    let tunnel = false;
    socket.on('data', (chunk: Buffer) => {
      if (tunnel) return void socket.write(Buffer.concat([Buffer.from('echo:'), chunk]));
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (bodyLeft > 0) {
          const n = Math.min(bodyLeft, buf.length);
          bodyLeft -= n;
          buf = buf.subarray(n);
          if (bodyLeft > 0) return;
        }
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const [requestLine = '', ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
        buf = buf.subarray(end + 4);
        const headers: Record<string, string> = {};
        for (const line of lines) {
          const colon = line.indexOf(':');
          if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        const request: RawSeen = { connection: id, requestLine, headers };
        seen.push(request);
        bodyLeft = Number(headers['content-length'] ?? 0) || 0;
        const reply = answer(request);
        if (reply === 'upgrade') {
          tunnel = true;
          socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${headers.upgrade ?? 'websocket'}\r\nConnection: Upgrade\r\n\r\n`);
          if (buf.length > 0) socket.write(Buffer.concat([Buffer.from('echo:'), buf]));
          return;
        }
        socket.write(reply);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  t.teardown(close);
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    seen,
    get connections() {
      return connections;
    },
    close,
  };
}
