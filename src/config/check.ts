// `turnout check --config FILE`: the loader's whole pipeline (read → parse → ${VAR} → validate
// with defaults → cross-field checks) without building anything, as `nginx -t` and `haproxy -c`
// do. The effective config is printed with every default filled in; secrets are redacted, since
// this output ends up in terminals and CI logs.
import YAML from 'yaml';
import { ConfigError, loadConfigFile } from './load.ts';

export type CheckResult =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly message: string; readonly error: ConfigError };

export const REDACTED = '<redacted>';

/** Field names whose values are secrets wherever they appear (admin.token, notify.secret, …). */
const SECRET_KEY = /token|secret|password|passphrase/i;

export function checkConfigFile(path: string, env: NodeJS.ProcessEnv, format: 'yaml' | 'json'): CheckResult {
  let config: unknown;
  try {
    config = loadConfigFile(path, env);
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, message: err.message, error: err };
    throw err;
  }
  const shown = redact(config);
  const text =
    format === 'json'
      ? `${JSON.stringify(shown, null, 2)}\n`
      : `# ${path}: the effective configuration, defaults filled in (secrets redacted)\n${YAML.stringify(shown, { lineWidth: 0 })}`;
  return { ok: true, text };
}

/** A deep copy with secret fields and URL credentials replaced by `<redacted>`. */
export function redact(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => redact(v));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]));
  }
  if (typeof value !== 'string') return value;
  if (SECRET_KEY.test(key)) return value === '' ? '' : REDACTED;
  return redactUrlCredentials(value);
}

/** `redis://user:pw@host` → `redis://<redacted>@host`; anything else unchanged. */
function redactUrlCredentials(value: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@/i.exec(value);
  return m === null ? value : `${m[1]}${REDACTED}@${value.slice(m[0].length)}`;
}
