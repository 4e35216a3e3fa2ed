// The one call the data plane makes per request: begin when it is routed to a target,
// end when it finished. Implementations must be cheap (no allocation, no prom-client update
// per request): Prometheus collectors read the aggregates at scrape time.
import type { Colour, Outcome } from '../domain.ts';
import type { Target } from '../upstream/target.ts';

export interface Recorder {
  /** A request was sent to `target` (in-flight + 1). */
  begin(target: Target): void;
  /**
   * A request finished. `target` is null when none could be picked (no healthy target, 503).
   * `statusCode` is what the client got (0 if it hung up before headers).
   */
  end(colour: Colour, target: Target | null, statusCode: number, durationMs: number, outcome: Outcome): void;
}

export const noopRecorder: Recorder = Object.freeze({
  begin() {},
  end() {},
});
