// What the reference tables of a schema say (docs/configuration.md is checked against the config
// schema by test/config/load-file.test.ts): every leaf field path, whether it is required, and
// its default, in the table's words (`8080`, `[0.0.0.0/0, ::/0]`, `""`).
import { pick } from './issues.ts';

type Schema = Record<string, unknown>;

export interface FieldDoc {
  /** `listen.port`, `upstreams.blue.targets`, … */
  readonly path: string;
  /** No default and not optional: the file must set it (when its section is set). */
  readonly required: boolean;
  /** The default as the table's default column writes it; undefined: none. */
  readonly default: string | undefined;
}

/** Every leaf of a schema (a mapping, or a nullable one, is walked into; lists are leaves). */
export function fieldDocs(schema: unknown, prefix = ''): FieldDoc[] {
  const object = pick(schema as Schema, 'object');
  if (object === undefined || object.properties === undefined) return [];
  const required = new Set((object.required ?? []) as string[]);
  return Object.entries(object.properties as Record<string, Schema>).flatMap(([key, field]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    const inner = pick(field, 'object');
    if (inner !== undefined && inner.properties !== undefined) return fieldDocs(field, path);
    return [{ path, required: required.has(key) && !('default' in field), default: 'default' in field ? renderDefault(field.default) : undefined }];
  });
}

/** The leaf field paths of a schema, in its order. */
export function leafPaths(schema: unknown): string[] {
  return fieldDocs(schema).map((f) => f.path);
}

/** A default as the docs write it: YAML flow style, `""` for the empty string. */
export function renderDefault(value: unknown): string {
  if (value === '') return '""';
  if (Array.isArray(value)) return `[${value.map(renderDefault).join(', ')}]`;
  if (value === null) return 'null';
  return String(value);
}
