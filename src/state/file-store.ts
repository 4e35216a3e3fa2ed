// A StateStore in one JSON file, written crash-safely: write a temp file beside it, fsync it,
// rename it over the old file, fsync the directory — all before save() resolves, so an
// acknowledged change survives a crash or power loss, and a reader only ever sees a whole file.
//
// The file holds the state and the newest `maxEvents` events (oldest first). Events rotated out
// are first appended (and fsynced) to a JSONL audit log beside it (`state.json` →
// `state.audit.jsonl`); only then is the state file replaced. A crash between the two leaves the
// events in both places; on reopen the audit log's last version is read back so they are not
// appended twice.
//
// Cost: every save rewrites the whole file (about 2 MB at 10 000 events). That suits a control
// plane that changes a few times a minute at most; it keeps state and events atomic together.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { TurnoutError } from '../errors.ts';
import { parseStateFile, serializeStateFile } from './file-format.ts';
import type { AuditEvent, RoutingState } from './model.ts';
import type { StateStore, StoredState } from './store.ts';
import { appendBounded, DEFAULT_MAX_EVENTS, newestFirst } from './store.ts';

export interface FileStoreOptions {
  /** Events kept in the state file (default 10 000). */
  maxEvents?: number;
  /** Where rotated events go (default: beside the state file, `<name>.audit.jsonl`). */
  auditPath?: string;
}

/** `data/state.json` → `data/state.audit.jsonl`. */
export function defaultAuditPath(statePath: string): string {
  const ext = path.extname(statePath);
  const base = ext === '' ? statePath : statePath.slice(0, -ext.length);
  return `${base}.audit.jsonl`;
}

export class FileStore implements StateStore {
  readonly path: string;
  readonly auditPath: string;
  readonly #dir: string;
  readonly #maxEvents: number;
  #loaded: StoredState | null | undefined = undefined;
  #events: readonly AuditEvent[] = [];
  /** Highest event version already in the audit log (so a retried rotation does not duplicate). */
  #auditedThrough = 0;
  /** The audit log ends in a torn line (a crash mid-append): start the next append on a new line. */
  #auditNeedsNewline = false;
  /** Serializes saves even if a caller does not. */
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(statePath: string, options: FileStoreOptions = {}) {
    this.path = path.resolve(statePath);
    this.auditPath = path.resolve(options.auditPath ?? defaultAuditPath(statePath));
    this.#dir = path.dirname(this.path);
    this.#maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
  }

  async load(): Promise<StoredState | null> {
    let text: string;
    try {
      text = await fs.readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#loaded = null;
        await this.#readAuditTail();
        return null;
      }
      throw this.#unreadable((err as Error).message, err);
    }
    let stored: StoredState;
    try {
      stored = parseStateFile(text);
    } catch (err) {
      throw this.#unreadable((err as Error).message, err);
    }
    this.#loaded = stored;
    this.#events = stored.events;
    await this.#readAuditTail();
    await this.#removeStaleTemps();
    return { state: stored.state, events: [...stored.events] };
  }

  save(state: RoutingState, newEvents: readonly AuditEvent[]): Promise<void> {
    const run = this.#queue.then(() => this.#save(state, newEvents));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #save(state: RoutingState, newEvents: readonly AuditEvent[]): Promise<void> {
    if (this.#closed) throw new TurnoutError('TURNOUT_ERR_STATE_UNWRITABLE', `state file ${this.path} is closed`);
    // Never overwrite a file we have not read: its events would be lost.
    if (this.#loaded === undefined) await this.load();
    const { kept, rotated } = appendBounded(this.#events, newEvents, this.#maxEvents);
    try {
      await fs.mkdir(this.#dir, { recursive: true });
      const fresh = rotated.filter((e) => e.version > this.#auditedThrough);
      if (fresh.length > 0) await this.#appendAudit(fresh);
      await this.#writeAtomically(serializeStateFile(state, kept));
    } catch (err) {
      throw new TurnoutError('TURNOUT_ERR_STATE_UNWRITABLE', `state file ${this.path} cannot be written: ${(err as Error).message}`, {
        cause: err,
      });
    }
    // Only after the file is durable does the in-memory copy move on.
    this.#events = kept;
    this.#loaded = { state, events: kept };
  }

  async events(limit: number): Promise<AuditEvent[]> {
    return newestFirst(this.#events, limit);
  }

  async close(): Promise<void> {
    await this.#queue;
    this.#closed = true;
  }

  async #writeAtomically(text: string): Promise<void> {
    const temp = path.join(this.#dir, `.${path.basename(this.path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(temp, 'wx', 0o600);
      await handle.writeFile(text, 'utf8');
      await handle.sync();
      await handle.close();
      handle = undefined;
      await fs.rename(temp, this.path);
    } catch (err) {
      await handle?.close().catch(() => {});
      await fs.unlink(temp).catch(() => {});
      throw err;
    }
    await syncDirectory(this.#dir);
  }

  async #appendAudit(events: readonly AuditEvent[]): Promise<void> {
    const lines = events.map((e) => JSON.stringify(e) + '\n').join('');
    const handle = await fs.open(this.auditPath, 'a', 0o600);
    try {
      await handle.writeFile((this.#auditNeedsNewline ? '\n' : '') + lines, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    this.#auditNeedsNewline = false;
    this.#auditedThrough = events.at(-1)?.version ?? this.#auditedThrough;
    // A newly created log needs its directory entry made durable too.
    await syncDirectory(path.dirname(this.auditPath));
  }

  /** Reads the last complete line of the audit log to learn the last version rotated out. */
  async #readAuditTail(): Promise<void> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.auditPath, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw this.#unreadable(`audit log ${this.auditPath}: ${(err as Error).message}`, err);
    }
    try {
      const { size } = await handle.stat();
      if (size === 0) return;
      const length = Math.min(size, 64 * 1024);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      const text = buffer.toString('utf8');
      this.#auditNeedsNewline = !text.endsWith('\n');
      const lines = text.split('\n');
      lines.pop(); // the part after the last newline: empty, or a torn line
      for (let i = lines.length - 1; i >= 0; i--) {
        try {
          const version = (JSON.parse(lines[i] ?? '') as { version?: unknown }).version;
          if (Number.isSafeInteger(version)) {
            this.#auditedThrough = version as number;
            return;
          }
        } catch {
          // a partial first line of the tail window, or garbage: keep looking backwards
        }
      }
    } finally {
      await handle.close();
    }
  }

  /** Temp files left by a crash mid-write are never valid state; remove ours. */
  async #removeStaleTemps(): Promise<void> {
    const prefix = `.${path.basename(this.path)}.`;
    const names = await fs.readdir(this.#dir).catch(() => [] as string[]);
    await Promise.all(
      names
        .filter((n) => n.startsWith(prefix) && n.endsWith('.tmp'))
        .map((n) => fs.unlink(path.join(this.#dir, n)).catch(() => {})),
    );
  }

  #unreadable(reason: string, cause: unknown): TurnoutError {
    return new TurnoutError('TURNOUT_ERR_STATE_UNREADABLE', `state file ${this.path} cannot be read: ${reason}`, { cause });
  }
}

/** fsync a directory so a rename or a new file in it survives power loss (POSIX; a no-op where unsupported). */
async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Windows cannot open or fsync a directory; elsewhere a failure here is real.
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw err;
  } finally {
    await handle?.close().catch(() => {});
  }
}
