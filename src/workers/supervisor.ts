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
import { SparePool } from './spare.ts';

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
  /** Warm spares kept forked to replace a dead worker at once (spare.ts; default 0). */
  readonly spares?: number;
}

export interface WorkerInfo {
  readonly id: string;
  readonly pid: number;
  readonly startedAt: string;
  readonly ready: boolean;
  /** serving: attached to the channel (starting or listening); spare: warm or loading, not attached. */
  readonly role: 'serving' | 'spare';
}

/** Linux and the BSDs balance SO_REUSEPORT sockets in the kernel; elsewhere use cluster's handle. */
export function defaultListenMode(platform: NodeJS.Platform = process.platform): ListenMode {
  return platform === 'linux' || platform === 'freebsd' || platform === 'sunos' || platform === 'aix' ? 'reuseport' : 'shared';
}

interface Entry {
  readonly id: string;
  readonly worker: Worker;
  readonly startedAt: string;
  readonly endpoint: IpcEndpoint;
  role: 'serving' | 'spare';
  /** Said hello: init sent. */
  hello: boolean;
  /** Built everything and waits for its first snapshot (spare.ts). */
  warm: boolean;
  ready: boolean;
  /** Resolves once listening; rejects with a WorkerStartError if it exits before. */
  readonly serving: Promise<void>;
  isDead(): boolean;
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
  readonly #spares: SparePool<Entry>;
  /** Deaths since start (Prometheus and tests). */
  restarts = 0;

  constructor(options: SupervisorOptions) {
    this.#o = options;
    this.#spares = new SparePool({ size: options.spares ?? 0, fork: () => this.#fork('spare'), retryMs: options.retryMs ?? 1000 });
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
    return [...this.#entries.values()].map((e) => ({ id: e.id, pid: e.worker.process.pid ?? 0, startedAt: e.startedAt, ready: e.ready, role: e.role }));
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
      if (needsPort) await this.#fork('serving').serving;
      await Promise.all(Array.from({ length: this.#o.count - (needsPort ? 1 : 0) }, () => this.#fork('serving').serving));
    } catch (err) {
      this.#stopping = true;
      for (const e of this.#entries.values()) e.worker.process.kill('SIGKILL');
      throw err;
    }
    // After the workers, so that the spares' start does not slow theirs; not awaited.
    this.#spares.fill();
    return { proxyPort: this.#proxyPort, previewPort: this.#previewPort };
  }

  /** Tells every worker to drain; resolves when all exited (killed after `drainSeconds` + 2 s). */
  async drain(): Promise<void> {
    this.#stopping = true;
    this.#spares.stop();
    const exits = [...this.#entries.values()].map(
      (e) =>
        new Promise<void>((resolve) => {
          if (e.worker.isDead()) return resolve();
          e.worker.once('exit', () => resolve());
          // A spare serves nothing: SIGTERM ends it at any stage, even before it can read a message.
          if (e.role === 'spare') e.worker.process.kill('SIGTERM');
          else safeSend(e.worker, { t: 'turnout.drain' });
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

  /**
   * Forks a worker. `serving`: attached to the channel as soon as it says hello, so it gets the
   * latest snapshot and listens. `spare`: it builds everything and waits, unattached, until
   * #promote attaches it in a dead worker's place.
   */
  #fork(role: 'serving' | 'spare'): Entry {
    const id = `w${++this.#next}`;
    const worker = cluster.fork({ TURNOUT_WORKER_ID: id });
    const endpoint: IpcEndpoint = { send: (m) => safeSend(worker, m), on: (event, listener) => worker.on(event, listener) };
    let settle!: { resolve: () => void; reject: (err: Error) => void };
    const serving = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    // Nobody may wait for a spare's promise (it settles only once promoted): never unhandled.
    serving.catch(() => {});
    const entry: Entry = { id, worker, endpoint, role, hello: false, warm: false, ready: false, startedAt: new Date().toISOString(), serving, isDead: () => worker.isDead() };
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
    let failure: string | undefined;
    worker.on('message', (raw: unknown) => {
      if (lifecycleMessage(raw, 'turnout.hello')) {
        // Init first, then the channel sends the latest snapshot: the worker routes by it from
        // its first request. A publish from now on waits for this worker's ack too.
        entry.hello = true;
        safeSend(worker, init);
        if (entry.role === 'serving') this.#o.channel.attach(id, endpoint);
        return;
      }
      if (lifecycleMessage(raw, 'turnout.warm')) {
        entry.warm = true;
        if (entry.role === 'spare') this.#o.logger.info({ worker: id, pid: worker.process.pid }, `spare ${id} warm`);
        return;
      }
      const ready = lifecycleMessage<ReadyMessage>(raw, 'turnout.ready');
      if (ready) {
        entry.ready = true;
        if (this.#proxyPort === 0) this.#proxyPort = ready.proxyPort;
        if (this.#previewPort === 0) this.#previewPort = ready.previewPort;
        this.#o.logger.info({ worker: id, pid: worker.process.pid }, `worker ${id} serving`);
        settle.resolve();
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
      if (entry.role === 'spare') {
        if (!this.#stopping) {
          if (entry.warm) this.#o.logger.warn({ worker: id }, `spare ${id} exited (${failure ?? how}); forking another`);
          else this.#o.logger.error({ worker: id }, `spare ${id} could not start: ${failure ?? `exited with ${how}`}; retrying in ${this.#o.retryMs ?? 1000} ms`);
        }
        this.#spares.died(entry, entry.warm);
        return;
      }
      if (!entry.ready) {
        const error = new WorkerStartError(`worker ${id} could not start: ${failure ?? `exited with ${how} before listening`}`);
        settle.reject(error);
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
      this.#replace(id);
    });
    return entry;
  }

  /** Puts a warm spare in a dead worker's place, else forks a fresh worker. */
  #replace(dead?: string): void {
    if (this.#stopping) return;
    // The next spare once the replacement serves (or could not), not before: its fork and start
    // would compete for the CPU with the replacement's. A bound in case it neither serves nor exits.
    const refillAfter = (replacement: Entry) => {
      const refill = () => this.#spares.fill();
      replacement.serving.then(refill, refill);
      setTimeout(refill, this.#o.retryMs ?? 1000).unref();
    };
    const spare = this.#spares.take();
    if (spare === undefined) return refillAfter(this.#fork('serving'));
    spare.role = 'serving';
    refillAfter(spare);
    this.#o.logger.info({ worker: spare.id, replaces: dead, warm: spare.warm }, `spare ${spare.id} takes ${dead === undefined ? 'a' : `${dead}'s`} place`);
    // Not yet said hello (still loading): it is attached on hello, as a fresh worker is.
    if (spare.hello) this.#o.channel.attach(spare.id, spare.endpoint);
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
