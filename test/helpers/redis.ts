// A real redis-server per test file on a free 127.0.0.1 port, without persistence
// (`--save '' --appendonly no`), so a restart comes back empty like a cache node that lost its
// data. No mock of Redis anywhere (issue 14). Missing binary: the caller skips, unless CI=true.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { once } from 'node:events';

export const REDIS_SERVER = process.env.TURNOUT_REDIS_SERVER ?? 'redis-server';

/** null when redis-server can run here; otherwise the skip reason (CI=true: throws instead). */
export function redisMissing(): string | null {
  const found = spawnSync('sh', ['-c', `command -v ${REDIS_SERVER}`], { encoding: 'utf8' }).status === 0;
  if (found) return null;
  if (process.env.CI === 'true') throw new Error('redis-server not installed (apt-get install redis-server) and CI=true');
  return 'skipped: redis-server not installed (apt-get install redis-server)';
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** SIGKILL, as a crashed node: clients see the connection reset. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty (no persistence). */
  start(): Promise<void>;
  readonly running: boolean;
}

async function waitForPort(port: number, child: ChildProcess, tls: boolean, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        // A TLS port: accepting connections is enough (a plaintext PING would not be answered).
        if (tls) return void (s.destroy(), resolve(true));
        s.write('PING\r\n');
        s.once('data', (d) => {
          s.destroy();
          resolve(d.toString().startsWith('+PONG'));
        });
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`redis-server did not answer on ${port}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** PEM files for a TLS-only redis-server (`rediss://`). */
export interface RedisTls {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/** Starts redis-server for this test (torn down with it); with `tls`, on a TLS port only. */
export async function startRedis(t: { teardown(fn: () => unknown): void }, options: { tls?: RedisTls } = {}): Promise<RedisServer> {
  const port = await freePort();
  const tls = options.tls;
  const listen = tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca, '--tls-auth-clients', 'no']
    : ['--port', String(port)];
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn(REDIS_SERVER, [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], {
      stdio: 'ignore',
    });
    await waitForPort(port, child, tls !== undefined);
  };
  const kill = async () => {
    const c = child;
    child = null;
    if (c === null || c.exitCode !== null) return;
    const exited = once(c, 'exit');
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  t.teardown(kill);
  return {
    port,
    url: `${tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    kill,
    start,
    get running() {
      return child !== null;
    },
  };
}
