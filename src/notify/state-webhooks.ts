// Webhooks for every state event (CONTRACT §4 audit actions, §11 flip.verified / flip.revert): a
// StateManager change listener, wired by the composition root (app.ts), beside the state rather
// than inside the rollout controller, because every change fires one, whoever made it (a human,
// the rollout controller, the verification controller). The payload is the event, the rollout's
// summary, and once a verification exists, the period and the idle colour a pipeline waits on.
import { otherColour, systemClock, type Clock } from '../domain.ts';
import { rolloutSummary } from '../rollout/record.ts';
import { verificationOf, verificationView } from '../rollout/verification-record.ts';
import type { AuditEvent, RoutingState } from '../state/model.ts';
import type { WebhookNotifier } from './webhooks.ts';

/** What is POSTed for one event (its `x-turnout-event` header is `event.action`). */
export function webhookPayload(state: RoutingState, event: AuditEvent, now: number): Record<string, unknown> {
  const v = verificationOf(state);
  return {
    event,
    rollout: rolloutSummary(state),
    ...(v === null
      ? {}
      : { verification: verificationView(v, now), idle: { colour: otherColour(state.active), since: state.idle?.since ?? null, free: state.idle?.free ?? false } }),
  };
}

/** Sends every committed change to the notifier; returns the unsubscribe function. */
export function notifyStateChanges(
  state: { onChange(listener: (state: RoutingState, event: AuditEvent) => void): () => void },
  notifier: Pick<WebhookNotifier, 'send'>,
  clock: Clock = systemClock,
): () => void {
  return state.onChange((next, event) => notifier.send(event.action, webhookPayload(next, event, clock.now())));
}
