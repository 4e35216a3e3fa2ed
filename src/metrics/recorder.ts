// The seam between the data plane and telemetry: the calls the data plane makes per request.
// Implementations must be cheap (no allocation, no prom-client update per request): Prometheus
// collectors read the aggregates at scrape time, and a worker can sum them per second.
//
// Client responses and upstream attempts are counted apart, as Envoy's downstream_rq_* and
// upstream_rq_* are (DESIGN.md): a request retried on another target is one client response
// (end) and two attempts (retry for the first, end for the last). What the colour's figures
// count is what clients saw; a target's figures count every attempt sent to it.
import type { Colour, ErrorKind, Outcome } from '../domain.ts';
import type { Target } from '../upstream/target.ts';

export interface Recorder {
  /** An attempt was sent to `target` (its in-flight + 1). */
  begin(target: Target): void;
  /**
   * The attempt on `target` failed and the request is being sent to another target: one attempt
   * and one retry for the target and its colour, no client response (in-flight − 1).
   */
  retry(target: Target, attemptMs: number, outcome: ErrorKind): void;
  /**
   * The client's answer is finished (or the client hung up): one client response for `colour`,
   * which waited `durationMs` since the first attempt was sent. `target` is the target of the
   * last attempt, which ends here after `attemptMs` (default `durationMs`; in-flight − 1), or null
   * when none could be picked (the proxy's own 503). `statusCode` is what the client got (0 if it
   * hung up before headers).
   */
  end(colour: Colour, target: Target | null, statusCode: number, durationMs: number, outcome: Outcome, attemptMs?: number): void;
}

export const noopRecorder: Recorder = Object.freeze({
  begin() {},
  retry() {},
  end() {},
});
