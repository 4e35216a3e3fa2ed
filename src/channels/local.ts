// The in-process transport (workers: 1): the control plane and its only data plane share one
// process, so a publish is a synchronous call of the subscriber and the ack is its return.
// Nothing is copied or serialised; the data plane keeps reading one frozen reference per request.
//
// Telemetry needs no up channel here: the single data plane records straight into the control
// plane's Telemetry (metrics/telemetry.ts is a Recorder), which is cheaper than any aggregation;
// likewise its shadow comparison counts straight into the control plane's ShadowStats.
// LocalTelemetry exists so that code written against TelemetryPublisher/TelemetrySubscriber (the
// conformance tests, the merger) also runs in one process.
import type {
  Convergence,
  DataPlaneId,
  ServiceId,
  ShadowDelta,
  ShadowPublisher,
  ShadowSubscriber,
  SnapshotMessage,
  SnapshotPublisher,
  SnapshotSubscriber,
  TelemetryDelta,
  TelemetryPublisher,
  TelemetrySubscriber,
} from './types.ts';

export class LocalSnapshotChannel implements SnapshotPublisher, SnapshotSubscriber {
  readonly #subscribers: ((message: SnapshotMessage) => void)[] = [];
  readonly #latest = new Map<ServiceId, SnapshotMessage>();
  #seq = 0;

  subscribe(apply: (message: SnapshotMessage) => void): void {
    this.#subscribers.push(apply);
    // A subscriber that joins late starts from the current state, as a new worker does.
    for (const message of this.#latest.values()) apply(message);
  }

  publish(message: Omit<SnapshotMessage, 'seq'>): Promise<Convergence> {
    const full: SnapshotMessage = Object.freeze({ ...message, seq: ++this.#seq });
    this.#latest.set(full.service, full);
    // Applied synchronously: when publish returns, every request sees the message.
    for (const apply of this.#subscribers) apply(full);
    const n = this.#subscribers.length;
    return Promise.resolve({ applied: n, replicas: n, lagging: [] });
  }

  latest(service: ServiceId): SnapshotMessage | undefined {
    return this.#latest.get(service);
  }
}

export class LocalTelemetry implements TelemetryPublisher, TelemetrySubscriber, ShadowPublisher, ShadowSubscriber {
  readonly #merges: ((delta: TelemetryDelta) => void)[] = [];
  readonly #shadowMerges: ((delta: ShadowDelta) => void)[] = [];
  readonly #forgets: ((from: DataPlaneId) => void)[] = [];

  send(delta: TelemetryDelta): void {
    for (const merge of this.#merges) merge(delta);
  }

  subscribe(merge: (delta: TelemetryDelta) => void): void {
    this.#merges.push(merge);
  }

  onGone(forget: (from: DataPlaneId) => void): void {
    this.#forgets.push(forget);
  }

  sendShadow(delta: ShadowDelta): void {
    for (const merge of this.#shadowMerges) merge(delta);
  }

  subscribeShadow(merge: (delta: ShadowDelta) => void): void {
    this.#shadowMerges.push(merge);
  }

  /** The sender named `from` is gone (tests; in one process it never is). */
  gone(from: DataPlaneId): void {
    for (const forget of this.#forgets) forget(from);
  }
}
