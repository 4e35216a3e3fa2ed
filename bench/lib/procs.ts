// Child processes of the bench: spawned, tracked, awaited until ready, and always killed —
// on normal exit, on failure and on SIGINT/SIGTERM — so no origin, proxy or nginx outlives
// the run.
import os from 'node:os';
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { sleep } from './stats.ts';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT_DIR = path.resolve(BENCH_DIR, '..');
/** Node 24 from the `node` devDependency (the system node may be older). */
export const NODE = process.execPath;

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves once the process has exited. */
  readonly exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<Proc>();
let handlersInstalled = false;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // Last resort: synchronous SIGKILL of whatever is still tracked.
  process.on('exit', () => {
    for (const p of running) killQuietly(p.child, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping child processes\n`);
      void stopAll().finally(() => process.exit(130));
    });
  }
}

function killQuietly(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  } catch {
    // already gone
  }
}

export interface StartOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** stdout and stderr go here (a file); default: discarded after readiness parsing. */
  readonly logFile?: string;
}

/**
 * Pinning (the default of `bench` and `bench:quick`; `--no-pin` turns it off): the load generator
 * (this process, all threads, and the wrk it starts) and the origin on CPU 0, every contender on
 * CPU 1. Each proxy then has a core of its own instead of being scheduled against a load generator
 * whose appetite grows with the proxy's speed: the figures measure the proxy, and they are steadier.
 * The price: the load is capped at what one core drives (nginx can hit that cap).
 */
let pinning: { readonly load: string; readonly proxy: string } | null = null;

function enablePinning(): void {
  const r = spawnSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pinning needs taskset (util-linux): ${r.stderr || r.error?.message}`);
  pinning = { load: '0', proxy: '1' };
}

/** Pins when the machine has at least two CPUs and taskset; false (cores shared) otherwise. */
export function tryEnablePinning(log: (line: string) => void): boolean {
  if (os.availableParallelism() < 2) {
    log('one CPU: load generator, origin and proxy share it (no pinning)');
    return false;
  }
  try {
    enablePinning();
    return true;
  } catch (err) {
    log(`${(err as Error).message}: cores shared (no pinning)`);
    return false;
  }
}

export function pinned(): boolean {
  return pinning !== null;
}

export function startProcess(options: StartOptions): Proc {
  installHandlers();
  if (pinning) {
    const cpu = options.name === 'origin' ? pinning.load : pinning.proxy;
    options = { ...options, command: 'taskset', args: ['-c', cpu, options.command, ...options.args] };
  }
  const spawnOptions: SpawnOptions = {
    cwd: options.cwd ?? ROOT_DIR,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  };
  const child = spawn(options.command, [...options.args], spawnOptions);
  if (child.pid === undefined) throw new Error(`${options.name}: could not spawn ${options.command}`);
  const log = options.logFile ? createWriteStream(options.logFile) : null;
  // Keep draining the pipes so a chatty child never blocks on a full pipe.
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    if (log) stream.pipe(log, { end: false });
    else stream.resume();
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running.delete(proc);
      log?.end();
      resolve(code);
    });
    child.once('error', () => resolve(null));
  });
  const proc: Proc = {
    name: options.name,
    child,
    pid: child.pid,
    exited,
    async stop(graceMs = 2000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      killQuietly(child, 'SIGTERM');
      const timer = setTimeout(() => killQuietly(child, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  running.add(proc);
  return proc;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}

/** Waits for a stdout line matching `pattern`, returns its first capture group. */
export function waitForLine(proc: Proc, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => done(new Error(`${proc.name}: not ready after ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const m = pattern.exec(buffer);
      if (m) done(null, m[1] ?? m[0]);
    };
    const onExit = (code: number | null) => done(new Error(`${proc.name}: exited with ${code} before it was ready`));
    function done(err: Error | null, value?: string) {
      clearTimeout(timer);
      proc.child.stdout?.off('data', onData);
      proc.child.off('exit', onExit);
      if (err) reject(err);
      else resolve(value ?? '');
    }
    proc.child.stdout?.on('data', onData);
    proc.child.once('exit', onExit);
  });
}

/** Polls `url` until it answers with `status` (bounded), failing early if `proc` exits. */
export async function waitForHttp(url: string, options: { proc?: Proc; status?: number; timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  const want = options.status ?? 200;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (options.proc && (options.proc.child.exitCode !== null || options.proc.child.signalCode !== null)) {
      throw new Error(`${options.proc.name}: exited with ${options.proc.child.exitCode ?? options.proc.child.signalCode} before it was ready`);
    }
    try {
      const res = await request(url, { headers: options.headers ?? {}, headersTimeout: 1000, bodyTimeout: 1000 });
      await res.body.dump();
      if (res.statusCode === want) return;
      last = `status ${res.statusCode}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${url}: not ready (${last})`);
}

/** A free port on 127.0.0.1: bind port 0, read it, release it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
