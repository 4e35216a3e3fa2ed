// The error of an invalid or unreadable config, apart from the loader so that what only reports
// config errors (tls/listeners.ts, in every worker) does not load the schema and its validator.
import { TurnoutError } from '../errors.ts';
import type { Issue } from '../schema/issues.ts';

/** One problem of a config: its field path (`a.b[0].c`; empty for the document itself) and what is wrong. */
export type ConfigIssue = Issue;

/** An invalid or unreadable config. `message` names the file and lists one issue a line. */
export class ConfigError extends TurnoutError {
  readonly file: string;
  readonly issues: readonly ConfigIssue[];

  constructor(file: string, issues: readonly ConfigIssue[], headline = 'invalid configuration', options?: { cause?: unknown }) {
    const lines = issues.map((i) => `  ${i.path === '' ? '' : `${i.path}: `}${i.message}`);
    super('TURNOUT_ERR_CONFIG', [`${file}: ${headline}`, ...lines].join('\n'), options);
    this.name = 'ConfigError';
    this.file = file;
    this.issues = Object.freeze(issues.map((i) => Object.freeze({ ...i })));
  }
}
