// The supervisor's own messages on a worker's IPC channel, beside the channel envelopes of
// channels/ipc.ts (`ch: …`); these carry `t: …`. Lifecycle only: nothing here is per request.
import type { TurnoutConfig } from '../config/types.ts';

/** How workers share a listening port (README "Workers" has the measurement behind the default). */
export type ListenMode = 'reuseport' | 'shared';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** Supervisor → worker, first message: what to build and where to listen. */
export interface InitMessage {
  readonly t: 'turnout.init';
  readonly id: string;
  readonly config: TurnoutConfig;
  readonly proxy: Endpoint;
  readonly preview: Endpoint | null;
  readonly mode: ListenMode;
}

/** Supervisor → worker: stop accepting, finish in-flight requests, flush telemetry, exit 0. */
export interface DrainMessage {
  readonly t: 'turnout.drain';
}

/** Worker → supervisor, first message: its listeners exist, send init (earlier messages would be lost). */
export interface HelloMessage {
  readonly t: 'turnout.hello';
}

/**
 * Worker → supervisor: pools and listeners built, waiting for its first snapshot. A spare
 * (spare.ts) stays there until the supervisor attaches it to the channel.
 */
export interface WarmMessage {
  readonly t: 'turnout.warm';
}

/** Worker → supervisor: listening (with the ports it got, for port 0). */
export interface ReadyMessage {
  readonly t: 'turnout.ready';
  readonly proxyPort: number;
  readonly previewPort: number | null;
}

/** Worker → supervisor: it cannot start; it exits right after. */
export interface FailedMessage {
  readonly t: 'turnout.failed';
  readonly message: string;
}

/** Worker → supervisor: drained, final telemetry sent; it exits 0 right after. */
export interface DrainedMessage {
  readonly t: 'turnout.drained';
}

export type ToWorker = InitMessage | DrainMessage;
export type FromWorker = HelloMessage | WarmMessage | ReadyMessage | FailedMessage | DrainedMessage;

export function lifecycleMessage<T extends { t: string }>(value: unknown, t: T['t']): T | undefined {
  return typeof value === 'object' && value !== null && (value as { t?: unknown }).t === t ? (value as T) : undefined;
}
