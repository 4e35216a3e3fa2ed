// Comparing two answers to the same request (CONTRACT §9). Pure: no I/O, no clock. A difference
// has a key (what noise learning remembers) and a kind (what the mismatch counters count):
//   status              → kind status
//   header:<name>       → kind headers (hop-by-hop headers and shadow.ignoreHeaders never compared)
//   $.a.b[*].c          → kind body, a JSON path (array indices as [*], so noise generalises)
//   body                → kind body, a non-JSON (or truncated) body differing in length or hash
export type MismatchKind = 'status' | 'headers' | 'body';

/** A captured body: its full length and hash, and its bytes while they fit in maxBodyBytes. */
export interface CapturedBody {
  readonly length: number;
  /** Hex digest of the whole body (not only the buffered part). */
  readonly hash: string;
  /** The whole body, or null when it was longer than maxBodyBytes (then only length and hash compare). */
  readonly bytes: Buffer | null;
}

export interface Answer {
  readonly status: number;
  /** Lower-case names; repeated fields joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: CapturedBody;
}

export interface Difference {
  readonly kind: MismatchKind;
  /** `status`, `header:<name>`, a JSON path, or `body`. */
  readonly key: string;
  /** Where it was found (the JSON path with real indices); equals key for non-JSON. */
  readonly path: string;
  readonly live: string;
  readonly shadow: string;
}

export interface CompareOptions {
  /** Lower-case header names never compared (content-type always is). */
  readonly ignoreHeaders: ReadonlySet<string>;
  /** Compiled shadow.ignoreJsonPaths (compileJsonPaths). */
  readonly ignoreJsonPaths: readonly RegExp[];
  /** At most this many differences are listed (the first is what a sample reports). */
  readonly maxDifferences?: number;
}

// RFC 9110 §7.6.1: hop-by-hop fields describe one connection, not the answer. content-length and
// transfer-encoding follow from the body, which is compared on its own (JSON structurally).
const NEVER_COMPARED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'proxy-authenticate', 'proxy-authorization', 'content-length',
]);

/** `$.items[*].id` → a RegExp matching `$.items[3].id` (and nothing below it is compared). */
export function compileJsonPaths(paths: readonly string[]): RegExp[] {
  return paths.map((p) => new RegExp(`^${p.replace(/[.+?^${}()|\\]/g, '\\$&').replace(/\[\*\]/g, '\\[\\d+\\]').replace(/\[(\d+)\]/g, '\\[$1\\]')}$`));
}

/** The noise key of a JSON path: indices generalised, `$.items[3].id` → `$.items[*].id`. */
export function jsonKey(path: string): string {
  return path.replace(/\[\d+\]/g, '[*]');
}

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && /[/+]json\b/i.test(contentType);
}

function brief(value: unknown): string {
  if (value === undefined) return '(absent)';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** Every difference between the live and the shadow answer (bounded), in a stable order. */
export function compareAnswers(live: Answer, shadow: Answer, options: CompareOptions): Difference[] {
  const max = options.maxDifferences ?? 20;
  const out: Difference[] = [];
  if (live.status !== shadow.status) {
    out.push({ kind: 'status', key: 'status', path: 'status', live: String(live.status), shadow: String(shadow.status) });
  }
  const names = new Set([...Object.keys(live.headers), ...Object.keys(shadow.headers)]);
  for (const name of [...names].sort()) {
    if (out.length >= max) return out;
    if (NEVER_COMPARED.has(name) || (options.ignoreHeaders.has(name) && name !== 'content-type')) continue;
    const a = live.headers[name];
    const b = shadow.headers[name];
    if (a !== b) out.push({ kind: 'headers', key: `header:${name}`, path: `header:${name}`, live: brief(a), shadow: brief(b) });
  }
  compareBodies(live, shadow, options, out, max);
  return out;
}

function compareBodies(live: Answer, shadow: Answer, options: CompareOptions, out: Difference[], max: number): void {
  const a = live.body;
  const b = shadow.body;
  if (a.length === b.length && a.hash === b.hash) return; // identical bytes: nothing to look into
  if (a.bytes !== null && b.bytes !== null && isJson(live.headers['content-type']) && isJson(shadow.headers['content-type'])) {
    const left = parse(a.bytes);
    const right = parse(b.bytes);
    if (left.ok && right.ok) {
      diffJson(left.value, right.value, '$', options.ignoreJsonPaths, out, max);
      return;
    }
  }
  if (out.length < max) {
    out.push({ kind: 'body', key: 'body', path: 'body', live: `${a.length} bytes, ${a.hash.slice(0, 12)}`, shadow: `${b.length} bytes, ${b.hash.slice(0, 12)}` });
  }
}

function parse(bytes: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(bytes.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/** Structural JSON diff, depth first, object keys sorted; pushes at most `max` differences. */
export function diffJson(a: unknown, b: unknown, path: string, ignore: readonly RegExp[], out: Difference[], max: number): void {
  if (out.length >= max) return;
  if (ignore.some((re) => re.test(path))) return;
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka !== kb || (ka !== 'object' && ka !== 'array')) {
    if (ka !== kb || a !== b) out.push({ kind: 'body', key: jsonKey(path), path, live: brief(a), shadow: brief(b) });
    return;
  }
  if (ka === 'array') {
    const x = a as unknown[];
    const y = b as unknown[];
    const n = Math.max(x.length, y.length);
    for (let i = 0; i < n && out.length < max; i++) diffJson(x[i], y[i], `${path}[${i}]`, ignore, out, max);
    return;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].sort();
  for (const key of keys) {
    if (out.length >= max) return;
    diffJson(Object.hasOwn(x, key) ? x[key] : undefined, Object.hasOwn(y, key) ? y[key] : undefined, `${path}.${key}`, ignore, out, max);
  }
}
