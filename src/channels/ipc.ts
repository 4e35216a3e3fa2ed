// The IPC transport (workers: N): the node:child_process channel between the control plane and
// each forked data plane (a node:cluster worker has the same channel). Messages are the plain
// objects of types.ts inside a small envelope `{ ch, … }`; the channel serialises them as JSON
// and delivers them in order, which is what makes "acked seq n" mean "applied everything up to n".
import type {
  Convergence,
  DataPlaneId,
  ServiceId,
  ShadowDelta,
  ShadowPublisher,
  ShadowSubscriber,
  SnapshotAck,
  SnapshotMessage,
  SnapshotPublisher,
  SnapshotSubscriber,
  TelemetryDelta,
  TelemetryPublisher,
  TelemetrySubscriber,
} from './types.ts';

/** What both ends of a node IPC channel offer: a cluster Worker, a ChildProcess, or `process`. */
export interface IpcEndpoint {
  send(message: unknown): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

/** The envelope of every channel message; other messages on the same IPC channel are ignored. */
export type ChannelEnvelope =
  | { readonly ch: 'turnout.snapshot'; readonly message: SnapshotMessage }
  | { readonly ch: 'turnout.ack'; readonly ack: SnapshotAck }
  | { readonly ch: 'turnout.telemetry'; readonly delta: TelemetryDelta }
  | { readonly ch: 'turnout.shadow'; readonly delta: ShadowDelta };

function envelope(value: unknown): ChannelEnvelope | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const ch = (value as { ch?: unknown }).ch;
  return ch === 'turnout.snapshot' || ch === 'turnout.ack' || ch === 'turnout.telemetry' || ch === 'turnout.shadow' ? (value as ChannelEnvelope) : undefined;
}

interface Pending {
  readonly seq: number;
  readonly replicas: number;
  readonly waiting: Set<DataPlaneId>;
  /** Gone before acking: not waited for any more, but never counted as applied. */
  readonly gone: DataPlaneId[];
  readonly resolve: (c: Convergence) => void;
  readonly timer: NodeJS.Timeout | undefined;
}

/**
 * Control-plane end: one publisher and one telemetry subscriber over every attached data plane.
 * `attach` a data plane as soon as it is forked (it gets the latest snapshot at once), `detach`
 * it when it exits (its pending acks stop being waited for, its in-flight gauges are forgotten).
 */
export class IpcControlChannel implements SnapshotPublisher, TelemetrySubscriber, ShadowSubscriber {
  readonly #endpoints = new Map<DataPlaneId, IpcEndpoint>();
  readonly #latest = new Map<ServiceId, SnapshotMessage>();
  readonly #pending = new Set<Pending>();
  /** Highest seq acked per data plane. */
  readonly #acked = new Map<DataPlaneId, number>();
  readonly #merges: ((delta: TelemetryDelta) => void)[] = [];
  readonly #shadowMerges: ((delta: ShadowDelta) => void)[] = [];
  readonly #forgets: ((from: DataPlaneId) => void)[] = [];
  #seq = 0;

  attach(id: DataPlaneId, endpoint: IpcEndpoint): void {
    this.#endpoints.set(id, endpoint);
    this.#acked.set(id, 0);
    endpoint.on('message', (raw) => {
      const m = envelope(raw);
      if (m === undefined || !this.#endpoints.has(id)) return;
      if (m.ch === 'turnout.ack') this.#onAck(id, m.ack.seq);
      else if (m.ch === 'turnout.telemetry') for (const merge of this.#merges) merge(m.delta);
      else if (m.ch === 'turnout.shadow') for (const merge of this.#shadowMerges) merge(m.delta);
    });
    for (const message of this.#latest.values()) endpoint.send({ ch: 'turnout.snapshot', message });
  }

  detach(id: DataPlaneId): void {
    if (!this.#endpoints.delete(id)) return;
    this.#acked.delete(id);
    for (const p of this.#pending) {
      if (p.waiting.delete(id)) {
        p.gone.push(id);
        this.#settle(p);
      }
    }
    for (const forget of this.#forgets) forget(id);
  }

  /** Data planes attached now. */
  get size(): number {
    return this.#endpoints.size;
  }

  /** Highest snapshot seq each data plane acked (for /api/v1/fleet's `workers` and tests). */
  acked(): ReadonlyMap<DataPlaneId, number> {
    return this.#acked;
  }

  publish(message: Omit<SnapshotMessage, 'seq'>, timeoutMs?: number): Promise<Convergence> {
    const full: SnapshotMessage = { ...message, seq: ++this.#seq };
    this.#latest.set(full.service, full);
    const waiting = new Set(this.#endpoints.keys());
    const replicas = waiting.size;
    for (const [, endpoint] of this.#endpoints) endpoint.send({ ch: 'turnout.snapshot', message: full });
    return new Promise<Convergence>((resolve) => {
      const pending: Pending = {
        seq: full.seq,
        replicas,
        waiting,
        gone: [],
        resolve,
        timer: timeoutMs === undefined ? undefined : setTimeout(() => this.#settle(pending, true), timeoutMs),
      };
      this.#pending.add(pending);
      this.#settle(pending);
    });
  }

  latest(service: ServiceId): SnapshotMessage | undefined {
    return this.#latest.get(service);
  }

  subscribe(merge: (delta: TelemetryDelta) => void): void {
    this.#merges.push(merge);
  }

  onGone(forget: (from: DataPlaneId) => void): void {
    this.#forgets.push(forget);
  }

  subscribeShadow(merge: (delta: ShadowDelta) => void): void {
    this.#shadowMerges.push(merge);
  }

  #onAck(id: DataPlaneId, seq: number): void {
    if (seq > (this.#acked.get(id) ?? 0)) this.#acked.set(id, seq);
    for (const p of this.#pending) {
      if (seq >= p.seq && p.waiting.delete(id)) this.#settle(p);
    }
  }

  #settle(p: Pending, timedOut = false): void {
    if (!this.#pending.has(p) || (p.waiting.size > 0 && !timedOut)) return;
    this.#pending.delete(p);
    if (p.timer !== undefined) clearTimeout(p.timer);
    const lagging = [...p.waiting, ...p.gone];
    p.resolve({ applied: p.replicas - lagging.length, replicas: p.replicas, lagging });
  }
}

/** Data-plane end, in the worker: applies snapshots, acks them, sends telemetry. */
export class IpcDataPlaneChannel implements SnapshotSubscriber, TelemetryPublisher, ShadowPublisher {
  readonly #endpoint: IpcEndpoint;
  readonly #from: DataPlaneId;

  constructor(endpoint: IpcEndpoint, from: DataPlaneId) {
    this.#endpoint = endpoint;
    this.#from = from;
  }

  subscribe(apply: (message: SnapshotMessage) => void): void {
    this.#endpoint.on('message', (raw) => {
      const m = envelope(raw);
      if (m?.ch !== 'turnout.snapshot') return;
      apply(m.message);
      // After apply returned: every request this worker reads from now on is routed by it.
      const ack: SnapshotAck = { service: m.message.service, from: this.#from, version: m.message.version, seq: m.message.seq };
      this.#endpoint.send({ ch: 'turnout.ack', ack });
    });
  }

  send(delta: TelemetryDelta): void {
    this.#endpoint.send({ ch: 'turnout.telemetry', delta });
  }

  sendShadow(delta: ShadowDelta): void {
    this.#endpoint.send({ ch: 'turnout.shadow', delta });
  }
}
