// The two channels between a control plane and its data planes (DESIGN.md "One control plane,
// many data planes"): snapshots go DOWN, telemetry goes UP. One abstraction, three transports:
//
//   local  (channels/local.ts)  workers: 1 — an in-process call; nothing is serialised and the
//                               data plane records straight into the control plane's windows
//   ipc    (channels/ipc.ts)    workers: N — the node:child_process channel of each worker
//   redis  (fleet/, issue 14)   between replicas of a fleet — the same messages as JSON
//
// Everything here is plain JSON data (no class instances, no Maps, no typed arrays), so a message
// crosses any transport as it is. Every message is keyed by `service` (only `default` today: the
// Services issue adds more) so that Redis keys, IPC messages and metric labels never need a
// migration when there are many.
//
// The per-request path never touches a channel: a data plane reads its local frozen snapshot and
// bumps local counters; the channel work happens once per committed change (down) and once per
// second (up).
//
// This file is the stable contract between transports. Change it only together with every
// transport (local, ipc, redis).
import type { Colour, Outcome } from '../domain.ts';
import type { RoutingSnapshot } from '../state/model.ts';
import type { ShadowCounts } from '../shadow/stats.ts';

/** A service id. Only `default` exists until the Services issue. */
export type ServiceId = string;
export const DEFAULT_SERVICE: ServiceId = 'default';

/** Who a data plane is: `w1`, `w2`… for workers; a replica id across a fleet. */
export type DataPlaneId = string;

// ---------------------------------------------------------------------------------------------
// DOWN: snapshots

/**
 * Probe health of every target, as the machine's control plane (the one health checker) sees it:
 * `probeHealthy[colour][targetIndex]`. Targets are fixed by the static config, so an index names
 * the same target in every process that loaded the same config.
 */
export interface TargetHealth {
  readonly blue: readonly boolean[];
  readonly green: readonly boolean[];
}

/**
 * What a data plane routes by, for one service: the committed routing snapshot and (on one
 * machine) the probe verdicts. Frozen by the receiver and swapped in whole.
 */
export interface SnapshotMessage {
  readonly service: ServiceId;
  /**
   * The committed state version (RoutingState.version, the one `If-Match` uses). Acks name it.
   * Health changes do not change it: see `seq`.
   */
  readonly version: number;
  /**
   * The publisher's own counter, +1 on every publish (a commit or a health change). Acks carry it
   * so that a publish waits for the acks of *its* message even when the state version did not
   * move. Meaningful only to the publisher that set it (a Redis transport may use its stream id).
   */
  readonly seq: number;
  readonly routing: RoutingSnapshot;
  /** Absent across a fleet (every machine probes for itself, DESIGN.md "Health has one owner"). */
  readonly health?: TargetHealth;
}

/** A data plane's answer: it routes every request received from now on by this message. */
export interface SnapshotAck {
  readonly service: ServiceId;
  readonly from: DataPlaneId;
  readonly version: number;
  readonly seq: number;
}

/** How a publish ended (CONTRACT §6's `converged: { applied, replicas }`). */
export interface Convergence {
  /** Data planes that acked this message (or a later one). */
  readonly applied: number;
  /** Data planes that were live when the message was published. */
  readonly replicas: number;
  /** The ids of those that had not acked when the publish resolved (timeout or death). */
  readonly lagging: readonly DataPlaneId[];
}

/** Control-plane side of the down channel. */
export interface SnapshotPublisher {
  /**
   * Sends `message` to every live data plane and resolves once each of them has acked it, or
   * died, or `timeoutMs` passed (whichever first). Publishes are delivered in call order; a data
   * plane that joins later receives the latest message before it serves (see `latest`).
   */
  publish(message: Omit<SnapshotMessage, 'seq'>, timeoutMs?: number): Promise<Convergence>;
  /** The last message published per service (what a newly started data plane gets first). */
  latest(service: ServiceId): SnapshotMessage | undefined;
}

/** Data-plane side of the down channel. */
export interface SnapshotSubscriber {
  /**
   * `apply` is called synchronously for every message, in order; the transport acks the message
   * once `apply` returned, so the ack means "requests from now on see it".
   */
  subscribe(apply: (message: SnapshotMessage) => void): void;
}

// ---------------------------------------------------------------------------------------------
// UP: telemetry

/** Index of a status class: 0 none (the client hung up before an answer), 1..5 = 1xx..5xx (metrics/totals.ts). */
export type StatusClassIndex = 0 | 1 | 2 | 3 | 4 | 5;

/**
 * Requests that finished in one second with the same facts. Exact counts; `sumMs` is the exact
 * sum of their latencies, so a merger that replays `count` requests at `sumMs / count` keeps
 * Prometheus' `_sum` exact and lands every replayed sample in the same histogram bucket (the mean
 * of samples in one bucket lies in that bucket).
 */
export interface TelemetryCell {
  readonly colour: Colour;
  /** Target index within the colour; -1: no target could be picked (the proxy's own 503). */
  readonly target: number;
  readonly statusClass: StatusClassIndex;
  readonly outcome: Outcome;
  /**
   * metrics/histogram.ts bucketOf(latencyMs), times LATENCY_BUCKETS_SECONDS.length + 1, plus the
   * Prometheus bucket index (metrics/totals.ts); -1 when the request had no upstream latency.
   * Opaque to transports: only the merger decodes it.
   */
  readonly bucket: number;
  readonly count: number;
  readonly sumMs: number;
  /**
   * A failed upstream attempt that was retried on another target (Recorder.retry): it counts for
   * its target's attempts and the colour's retries, never as a client response. Absent: a
   * finished request (Recorder.end).
   */
  readonly retried?: true;
}

/** Per-target gauges of one data plane at the end of the second (absolute values, not deltas). */
export interface TargetGauge {
  readonly colour: Colour;
  readonly target: number;
  /** Requests sent to this target during the second (Recorder.begin calls). */
  readonly begun: number;
  /** Requests to this target in flight in this data plane at the end of the second. */
  readonly inFlight: number;
  /** Passive ejection (per data plane): ejected until this epoch ms, 0 when not ejected. */
  readonly ejectedUntil: number;
}

/**
 * One data plane's telemetry for one service and one second. Sent once per second, and only for
 * a second in which something happened or a gauge changed; a final one on drain.
 */
export interface TelemetryDelta {
  readonly service: ServiceId;
  readonly from: DataPlaneId;
  /** Epoch second the counts belong to (Math.floor(ms / 1000)). */
  readonly second: number;
  /** The sender's counter, +1 per delta: a receiver can see a gap (a lost message) or a replay. */
  readonly seq: number;
  readonly cells: readonly TelemetryCell[];
  readonly targets: readonly TargetGauge[];
}

/** Data-plane side of the up channel. */
export interface TelemetryPublisher {
  /** Fire and forget: telemetry never blocks or fails the data plane. */
  send(delta: TelemetryDelta): void;
}

/** Control-plane side of the up channel. */
export interface TelemetrySubscriber {
  /** `merge` sees every delta exactly once, in each sender's order. */
  subscribe(merge: (delta: TelemetryDelta) => void): void;
  /**
   * A data plane is gone (a worker died, a replica expired): its in-flight gauges must be
   * forgotten. Its counted requests stay counted.
   */
  onGone(forget: (from: DataPlaneId) => void): void;
}

// ---------------------------------------------------------------------------------------------
// UP: shadow comparison (CONTRACT §9)

/**
 * What one data plane's shadow comparison counted since its previous report: sent about once a
 * second while something changed, and a final one on drain. Differences, so the receiver adds
 * them; `seq` as in TelemetryDelta. Bounded: counters, the noise keys that moved, at most
 * MAX_SAMPLES samples.
 */
export interface ShadowDelta extends ShadowCounts {
  readonly service: ServiceId;
  readonly from: DataPlaneId;
  readonly seq: number;
}

/** Data-plane side. Fire and forget, like telemetry. */
export interface ShadowPublisher {
  sendShadow(delta: ShadowDelta): void;
}

/** Control-plane side: `merge` sees every report once, in each sender's order. */
export interface ShadowSubscriber {
  subscribeShadow(merge: (delta: ShadowDelta) => void): void;
}
