// Every coded error Turnout raises, with its HTTP status. Modelled on fastify's lib/errors.js:
// one registry, a test keeps codes, docs and statuses in step.

export interface ErrorDefinition {
  readonly code: string;
  readonly statusCode: number;
  readonly error: string;
  readonly message: string;
}

function def(code: string, statusCode: number, error: string, message: string): ErrorDefinition {
  return Object.freeze({ code, statusCode, error, message });
}

export const ERRORS = Object.freeze({
  TURNOUT_ERR_CONFIG: def('TURNOUT_ERR_CONFIG', 500, 'Config Error', 'invalid configuration'),
  TURNOUT_ERR_STATE_UNREADABLE: def('TURNOUT_ERR_STATE_UNREADABLE', 500, 'State Error', 'state file cannot be read'),
  TURNOUT_ERR_STATE_UNWRITABLE: def('TURNOUT_ERR_STATE_UNWRITABLE', 500, 'State Error', 'state cannot be saved'),
  TURNOUT_ERR_UNSUPPORTED_MEDIA_TYPE: def('TURNOUT_ERR_UNSUPPORTED_MEDIA_TYPE', 415, 'Unsupported Media Type', 'content-type must be application/json'),
  TURNOUT_ERR_BAD_GATEWAY: def('TURNOUT_ERR_BAD_GATEWAY', 502, 'Bad Gateway', 'the upstream refused or reset the connection'),
  TURNOUT_ERR_NO_HEALTHY_TARGET: def('TURNOUT_ERR_NO_HEALTHY_TARGET', 503, 'Service Unavailable', 'no healthy target for this colour'),
  TURNOUT_ERR_UPSTREAM_SATURATED: def('TURNOUT_ERR_UPSTREAM_SATURATED', 503, 'Service Unavailable', 'every connection to the upstream is busy'),
  TURNOUT_ERR_TOO_MANY_REQUESTS: def('TURNOUT_ERR_TOO_MANY_REQUESTS', 429, 'Too Many Requests', 'too many concurrent requests from this client'),
  TURNOUT_ERR_GATEWAY_TIMEOUT: def('TURNOUT_ERR_GATEWAY_TIMEOUT', 504, 'Gateway Timeout', 'the upstream did not answer in time'),
  TURNOUT_ERR_TOO_MANY_HEADERS: def('TURNOUT_ERR_TOO_MANY_HEADERS', 431, 'Request Header Fields Too Large', 'request header fields too large'),
  TURNOUT_ERR_REQUEST_TIMEOUT: def('TURNOUT_ERR_REQUEST_TIMEOUT', 408, 'Request Timeout', 'the request did not arrive in time'),
  TURNOUT_ERR_BAD_REQUEST: def('TURNOUT_ERR_BAD_REQUEST', 400, 'Bad Request', 'invalid request'),
  TURNOUT_ERR_FORBIDDEN: def('TURNOUT_ERR_FORBIDDEN', 403, 'Forbidden', 'not allowed from this client'),
  TURNOUT_ERR_UNAUTHORIZED: def('TURNOUT_ERR_UNAUTHORIZED', 401, 'Unauthorized', 'missing or invalid bearer token'),
  TURNOUT_ERR_NOT_FOUND: def('TURNOUT_ERR_NOT_FOUND', 404, 'Not Found', 'not found'),
  TURNOUT_ERR_CONFLICT: def('TURNOUT_ERR_CONFLICT', 409, 'Conflict', 'the request conflicts with the current state'),
  TURNOUT_ERR_PRECONDITION_FAILED: def('TURNOUT_ERR_PRECONDITION_FAILED', 412, 'Precondition Failed', 'the state changed since the given version'),
  TURNOUT_ERR_STATE_UNAVAILABLE: def('TURNOUT_ERR_STATE_UNAVAILABLE', 503, 'Service Unavailable', 'the shared state store cannot be reached; nothing was changed'),
  TURNOUT_ERR_PAYLOAD_TOO_LARGE: def('TURNOUT_ERR_PAYLOAD_TOO_LARGE', 413, 'Payload Too Large', 'request body too large'),
  TURNOUT_ERR_INTERNAL: def('TURNOUT_ERR_INTERNAL', 500, 'Internal Server Error', 'internal error'),
});

export type ErrorCode = keyof typeof ERRORS;

/** The public JSON body of a coded error: `{ statusCode, error, message, ...extra }`. */
export function errorBody(code: ErrorCode, message?: string, extra?: Record<string, string>): string {
  const d = ERRORS[code];
  return JSON.stringify({ statusCode: d.statusCode, error: d.error, message: message ?? d.message, ...extra });
}

/** An error carrying a registry code, an HTTP status, and optionally the cause it wraps. */
export class TurnoutError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly error: string;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    const definition = ERRORS[code];
    super(message ?? definition.message, options);
    this.name = 'TurnoutError';
    this.code = code;
    this.statusCode = definition.statusCode;
    this.error = definition.error;
  }

  /** The public JSON body (CONTRACT §4): `{ statusCode, code, error, message }`. Never includes the cause. */
  toJSON(): { statusCode: number; code: ErrorCode; error: string; message: string } {
    return { statusCode: this.statusCode, code: this.code, error: this.error, message: this.message };
  }
}
