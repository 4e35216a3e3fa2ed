// The supervisor (CONTRACT §7): forks the data-plane workers, attaches each to the IPC channel
// (which sends it the latest snapshot at once), replaces a worker that dies, and drains them all
// on shutdown. It never sees a request: the workers listen themselves (reuseport) or through
// node:cluster's shared handle.
//
// Processes, not threads: a worker that crashes takes no other down, and each has its own heap
// and event loop (what nginx's worker_processes and node:cluster do).
import cluster, { type Worker } from 'node:cluster';
import type { TurnoutConfig } from '../config/types.ts';
import type { IpcControlChannel, IpcEndpoint } from '../channels/ipc.ts';
import { lifecycleMessage, type FailedMessage, type InitMessage, type ListenMode, type ReadyMessage } from './protocol.ts';

export interface SupervisorLogger {
  info(msg: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface SupervisorOptions {
  readonly count: number;
  /** The worker entry (dist/worker.js). */
  readonly exec: string;
  readonly config: TurnoutConfig;
  readonly mode: ListenMode;
  readonly channel: IpcControlChannel;
  readonly logger: SupervisorLogger;
  /** Delay before retrying a replacement that itself failed to start (default 1000 ms). */
  readonly retryMs?: number;
}

export interface WorkerInfo {
  readonly id: string;
  readonly pid: number;
  readonly startedAt: string;
  readonly ready: boolean;
}

/** Linux and the BSDs balance SO_REUSEPORT sockets in the kernel; elsewhere use cluster's handle. */
export function defaultListenMode(platform: NodeJS.Platform = process.platform): ListenMode {
  return platform === 'linux' || platform === 'freebsd' || platform === 'sunos' || platform === 'aix' ? 'reuseport' : 'shared';
}

interface Entry {
  readonly id: string;
  readonly worker: Worker;
  readonly startedAt: string;
  ready: boolean;
}

export class WorkerStartError extends Error {
  override readonly name = 'WorkerStartError';
}

export class Supervisor {
  readonly #o: SupervisorOptions;
  readonly #entries = new Map<string, Entry>();
  #next = 0;
  #stopping = false;
  #proxyPort: number;
  #previewPort: number | null;
  /** Deaths since start (Prometheus and tests). */
  restarts = 0;

  constructor(options: SupervisorOptions) {
    this.#o = options;
    this.#proxyPort = options.config.listen.port;
    this.#previewPort = options.config.preview?.port ?? null;
    cluster.setupPrimary({ exec: options.exec, silent: false });
  }

  /** Workers ready to serve now. */
  get ready(): number {
    let n = 0;
    for (const e of this.#entries.values()) if (e.ready) n++;
    return n;
  }

  /** Sends `signal` to every worker (SIGHUP: each re-reads its TLS certificates). */
  signal(signal: NodeJS.Signals): void {
    for (const e of this.#entries.values()) e.worker.process.kill(signal);
  }

  list(): WorkerInfo[] {
    return [...this.#entries.values()].map((e) => ({ id: e.id, pid: e.worker.process.pid ?? 0, startedAt: e.startedAt, ready: e.ready }));
  }

  /**
   * Starts every worker; resolves with the ports they listen on once all are ready, rejects with
   * a WorkerStartError naming the worker and its reason when one cannot start (the others are
   * then stopped).
   */
  async start(): Promise<{ proxyPort: number; previewPort: number | null }> {
    try {
      // With port 0 and reuseport, the first worker picks the port and the others join it.
      const needsPort = this.#o.mode === 'reuseport' && (this.#proxyPort === 0 || this.#previewPort === 0);
      if (needsPort) await this.#spawn();
      await Promise.all(Array.from({ length: this.#o.count - (needsPort ? 1 : 0) }, () => this.#spawn()));
    } catch (err) {
      this.#stopping = true;
      for (const e of this.#entries.values()) e.worker.process.kill('SIGKILL');
      throw err;
    }
    return { proxyPort: this.#proxyPort, previewPort: this.#previewPort };
  }

  /** Tells every worker to drain; resolves when all exited (killed after `drainSeconds` + 2 s). */
  async drain(): Promise<void> {
    this.#stopping = true;
    const exits = [...this.#entries.values()].map(
      (e) =>
        new Promise<void>((resolve) => {
          if (e.worker.isDead()) return resolve();
          e.worker.once('exit', () => resolve());
          safeSend(e.worker, { t: 'turnout.drain' });
        }),
    );
    const grace = setTimeout(() => {
      for (const e of this.#entries.values()) {
        if (!e.worker.isDead()) {
          this.#o.logger.warn({ worker: e.id }, 'worker did not drain in time: killed');
          e.worker.process.kill('SIGKILL');
        }
      }
    }, this.#o.config.shutdown.drainSeconds * 1000 + 2000);
    await Promise.all(exits);
    clearTimeout(grace);
  }

  #spawn(): Promise<void> {
    const id = `w${++this.#next}`;
    const worker = cluster.fork({ TURNOUT_WORKER_ID: id });
    const entry: Entry = { id, worker, startedAt: new Date().toISOString(), ready: false };
    this.#entries.set(id, entry);
    const { config } = this.#o;
    const init: InitMessage = {
      t: 'turnout.init',
      id,
      config,
      proxy: { host: config.listen.host, port: this.#proxyPort },
      preview: config.preview ? { host: config.preview.host, port: this.#previewPort ?? config.preview.port } : null,
      mode: this.#o.mode,
    };
    const endpoint: IpcEndpoint = { send: (m) => safeSend(worker, m), on: (event, listener) => worker.on(event, listener) };
    return new Promise<void>((resolve, reject) => {
      let failure: string | undefined;
      worker.on('message', (raw: unknown) => {
        if (lifecycleMessage(raw, 'turnout.hello')) {
          // Init first, then the channel sends the latest snapshot: the worker routes by it from
          // its first request. A publish from now on waits for this worker's ack too.
          safeSend(worker, init);
          this.#o.channel.attach(id, endpoint);
          return;
        }
        const ready = lifecycleMessage<ReadyMessage>(raw, 'turnout.ready');
        if (ready) {
          entry.ready = true;
          if (this.#proxyPort === 0) this.#proxyPort = ready.proxyPort;
          if (this.#previewPort === 0) this.#previewPort = ready.previewPort;
          this.#o.logger.info({ worker: id, pid: worker.process.pid }, `worker ${id} serving`);
          resolve();
        }
        const failed = lifecycleMessage<FailedMessage>(raw, 'turnout.failed');
        if (failed) failure = failed.message;
      });
      // Errors on the channel of a dying worker are followed by 'exit'; nothing to do here.
      worker.on('error', () => {});
      worker.on('exit', (code, signal) => {
        this.#entries.delete(id);
        this.#o.channel.detach(id);
        const how = signal ? `signal ${signal}` : `code ${code}`;
        if (!entry.ready) {
          const error = new WorkerStartError(`worker ${id} could not start: ${failure ?? `exited with ${how} before listening`}`);
          reject(error);
          if (this.#stopping) return;
          // A replacement that cannot start either: say so, and try again a little later.
          this.#o.logger.error({ worker: id }, error.message);
          if (this.restarts > 0) setTimeout(() => this.#replace(), this.#o.retryMs ?? 1000).unref();
          return;
        }
        if (this.#stopping) return;
        this.restarts++;
        if (code === 0) {
          // A clean drain we did not ask for: a SIGTERM sent to the whole process group (systemd's
          // KillMode=control-group) reaches the workers first. Give our own signal a moment to
          // arrive before replacing it.
          this.#o.logger.warn({ worker: id }, `worker ${id} drained and exited by itself; replacing it unless we are stopping`);
          setTimeout(() => this.#replace(), 200).unref();
          return;
        }
        this.#o.logger.error({ worker: id, pid: worker.process.pid }, `worker ${id} died (${how}); starting a replacement`);
        this.#replace();
      });
    });
  }

  #replace(): void {
    if (this.#stopping) return;
    this.#spawn().catch(() => {
      /* logged in the exit handler, retried from there */
    });
  }
}

/** Sends on a worker's channel; false (no throw) once the worker is gone. */
function safeSend(worker: Worker, message: unknown): boolean {
  if (worker.isDead() || !worker.isConnected()) return false;
  try {
    return worker.send(message as object);
  } catch {
    return false;
  }
}
