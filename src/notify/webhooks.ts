// Webhook notifications: every audit event is POSTed as JSON to each configured URL, signed with
// HMAC-SHA256 of the body under `notify.secret` (`x-turnout-signature: sha256=<hex>`, the GitHub
// convention, so receivers can verify with a constant-time compare). Delivery is fire-and-forget:
// send() never blocks or throws, so routing and the state manager's commits never wait on a slow
// or dead receiver. Failed attempts are retried with exponential backoff; deliveries that still fail
// are logged and counted (exported as turnout_webhook_failures_total).
import { createHmac, randomUUID } from 'node:crypto';
import { request } from 'undici';

/** A pino-compatible logger, narrowed to what the notifier uses. */
export interface NotifyLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface WebhookOptions {
  readonly urls: readonly string[];
  /** HMAC key; when empty, no signature header is sent. */
  readonly secret: string;
  readonly logger?: NotifyLogger;
  /** Attempts per delivery, including the first (default 5). */
  readonly maxAttempts?: number;
  /** Delay before the 2nd attempt; doubles each time, capped at 30 s (default 500 ms). */
  readonly backoffMs?: number;
  /** Per-attempt timeout (default 5000 ms). */
  readonly timeoutMs?: number;
  /** Deliveries in flight or waiting to retry; beyond this new ones are dropped and counted (default 1000). */
  readonly maxPending?: number;
}

export interface WebhookStats {
  /** Deliveries that got a 2xx answer. */
  readonly delivered: number;
  /** Deliveries given up on (all attempts failed, or dropped because too many were pending). */
  readonly failures: number;
  /** Attempts that failed (each retry's cause), including those later retried successfully. */
  readonly failedAttempts: number;
  /** Of `failures`, those dropped without an attempt because `maxPending` was reached. */
  readonly dropped: number;
  readonly pending: number;
}

export const SIGNATURE_HEADER = 'x-turnout-signature';

/** `sha256=<hex>` of the body under the secret: what a receiver recomputes to verify. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

const MAX_BACKOFF_MS = 30_000;

/** Webhook URLs often carry a token in their path (Slack, Teams): logs show only the origin. */
export function redact(url: string): string {
  try {
    return `${new URL(url).origin}/…`;
  } catch {
    return '(invalid url)';
  }
}
const noopLogger: NotifyLogger = { info() {}, warn() {}, error() {} };

export class WebhookNotifier {
  readonly #urls: readonly string[];
  readonly #secret: string;
  readonly #logger: NotifyLogger;
  readonly #maxAttempts: number;
  readonly #backoffMs: number;
  readonly #timeoutMs: number;
  readonly #maxPending: number;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #abort = new AbortController();
  #delivered = 0;
  #failures = 0;
  #failedAttempts = 0;
  #dropped = 0;

  constructor(options: WebhookOptions) {
    this.#urls = [...options.urls];
    this.#secret = options.secret;
    this.#logger = options.logger ?? noopLogger;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.#backoffMs = options.backoffMs ?? 500;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#maxPending = options.maxPending ?? 1000;
  }

  /** Queues `payload` for every URL and returns at once; never throws. */
  send(type: string, payload: unknown): void {
    if (this.#urls.length === 0 || this.#abort.signal.aborted) return;
    let body: string;
    try {
      body = JSON.stringify(payload);
    } catch (err) {
      this.#logger.error({ err, type }, 'webhook payload is not serialisable');
      return;
    }
    for (const url of this.#urls) {
      if (this.#inFlight.size >= this.#maxPending) {
        this.#dropped++;
        this.#failures++;
        this.#logger.warn({ url: redact(url), type }, `webhook dropped: ${this.#maxPending} deliveries already pending`);
        continue;
      }
      const delivery = this.#deliver(url, type, body, randomUUID()).finally(() => this.#inFlight.delete(delivery));
      this.#inFlight.add(delivery);
    }
  }

  stats(): WebhookStats {
    return {
      delivered: this.#delivered,
      failures: this.#failures,
      failedAttempts: this.#failedAttempts,
      dropped: this.#dropped,
      pending: this.#inFlight.size,
    };
  }

  /** Resolves once every queued delivery has succeeded or been given up (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** Cancels retries and in-flight attempts; later send() calls do nothing. */
  close(): void {
    this.#abort.abort();
  }

  async #deliver(url: string, type: string, body: string, id: string): Promise<void> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'turnout-webhook',
      'x-turnout-event': type,
      'x-turnout-delivery': id,
    };
    if (this.#secret !== '') headers[SIGNATURE_HEADER] = signature(this.#secret, body);
    let lastError = '';
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      if (this.#abort.signal.aborted) break;
      try {
        const res = await request(url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#timeoutMs)]),
          headersTimeout: this.#timeoutMs,
          bodyTimeout: this.#timeoutMs,
        });
        await res.body.dump().catch(() => {});
        if (res.statusCode >= 200 && res.statusCode < 300) {
          this.#delivered++;
          return;
        }
        lastError = `HTTP ${res.statusCode}`;
      } catch (err) {
        lastError = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      }
      this.#failedAttempts++;
      if (attempt < this.#maxAttempts) {
        this.#logger.warn({ url: redact(url), type, attempt, error: lastError }, 'webhook attempt failed; retrying');
        await this.#sleep(Math.min(MAX_BACKOFF_MS, this.#backoffMs * 2 ** (attempt - 1)));
      }
    }
    this.#failures++;
    this.#logger.error({ url: redact(url), type, delivery: id, error: lastError }, 'webhook delivery failed');
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      // Not unref'd: a pending retry is work to finish; close() (on shutdown) cancels it.
      const timer = setTimeout(done, ms);
      const signal = this.#abort.signal;
      signal.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
    });
  }
}
