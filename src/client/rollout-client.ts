// The rollout routes of the admin API (CONTRACT §4) on top of AdminClient.request: typed calls
// for scripts and the `turnout rollout` commands.
import type { RolloutView } from '../rollout/types.ts';
import type { AdminClient, ChangeOptions } from './admin-client.ts';

/** A POST /api/v1/rollouts body; analysis fields left out take the server's defaults. */
export interface RolloutBody {
  steps: { weight: number; holdSeconds: number }[];
  analysis?: Partial<{
    intervalSeconds: number;
    minRequests: number;
    maxErrorRate: number;
    maxP99Ms: number;
    maxP99Ratio: number;
    alpha: number;
    minErrorRateDelta: number;
    p99ToleranceMs: number;
  }>;
  onSuccess?: 'promote';
}

export type RolloutAction = 'pause' | 'resume' | 'promote' | 'abort';

export function startRollout(client: AdminClient, body: RolloutBody, options: ChangeOptions = {}): Promise<RolloutView> {
  const withReason = options.reason === undefined ? body : { ...body, reason: options.reason };
  return client.request<RolloutView>('POST', '/api/v1/rollouts', { ...options, body: withReason });
}

/** The current or last rollout; an AdminClientError with status 404 if none ever ran. */
export function currentRollout(client: AdminClient): Promise<RolloutView> {
  return client.request<RolloutView>('GET', '/api/v1/rollouts/current');
}

export function rolloutAction(client: AdminClient, action: RolloutAction, options: ChangeOptions = {}): Promise<RolloutView> {
  const body = options.reason === undefined ? undefined : { reason: options.reason };
  return client.request<RolloutView>('POST', `/api/v1/rollouts/current/${action}`, { ...options, body });
}
