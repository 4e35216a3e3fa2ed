// The admin API client (mutations carry If-Match and the dashboard actor) and the /metrics counters.
import { COLOURS } from './dom.js';
import { servicePath } from './services.js';
import { state } from './state.js';

// ---------------------------------------------------------------- API

export class ApiError extends Error {
  constructor(status, body) {
    const message = body && typeof body.message === 'string' ? body.message : `HTTP ${status}`;
    const error = body && typeof body.error === 'string' ? body.error : '';
    super(message);
    this.status = status;
    this.error = error;
    // Every admin error body carries a TURNOUT_ERR_* `code` (CONTRACT §4); shown so an operator can grep for it.
    this.code = body && typeof body.code === 'string' ? body.code : '';
  }
  describe() {
    return `${this.status}${this.error ? ` ${this.error}` : ''}: ${this.message}${this.code ? ` (${this.code})` : ''}`;
  }
}

/**
 * One admin API call; mutations carry If-Match with the version the operator last saw. A
 * per-service path goes to the chosen service (services.js).
 */
export async function api(method, path, body, opts = {}) {
  const useToken = opts.token ?? state.token;
  const headers = { accept: 'application/json', authorization: `Bearer ${useToken}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const seen = opts.ifMatch ?? state.current?.version;
  if (method !== 'GET' && Number.isInteger(seen)) headers['if-match'] = `"${seen}"`;
  if (method !== 'GET') headers['x-turnout-actor'] = 'dashboard';
  let res;
  try {
    res = await fetch(servicePath(path), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
  } catch (err) {
    throw new ApiError(0, { error: 'Network Error', message: `cannot reach the admin API (${err.message})` });
  }
  const text = await res.text();
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = { message: text.slice(0, 200) };
    }
  }
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

// ---------------------------------------------------------------- history for charts

/**
 * Cumulative request and error counts from the public /metrics (Prometheus text), summed by
 * colour and by "colour url": { key: [requests, errors] }. Diffing two scrapes gives true
 * recent rates; the API's sliding-window totals would lag a change by a whole window.
 */
function parseCounters(text) {
  const counts = {};
  const add = (key, i, v) => {
    (counts[key] ??= [0, 0])[i] += v;
  };
  for (const line of text.split('\n')) {
    const m = /^turnout_(requests_total|upstream_errors_total)\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of m[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, ch) => (ch === 'n' ? '\n' : ch));
    const v = Number(m[3]);
    if (!Number.isFinite(v) || !COLOURS.includes(labels.colour)) continue;
    // CONTRACT §10: every series carries `service`; count only the chosen one's.
    if (labels.service !== undefined && state.serviceName && labels.service !== state.serviceName) continue;
    const i = m[1] === 'requests_total' ? 0 : 1;
    add(labels.colour, i, v);
    if (labels.target && labels.target !== 'none') add(`${labels.colour} ${labels.target}`, i, v);
  }
  return counts;
}

/** The counters, or null when /metrics is not there (an admin server built without it). */
export async function fetchCounters() {
  try {
    const res = await fetch('/metrics', { cache: 'no-store', credentials: 'omit', headers: { accept: 'text/plain' } });
    if (!res.ok) return null;
    const counts = parseCounters(await res.text());
    return Object.keys(counts).length ? counts : null;
  } catch {
    return null;
  }
}
