// The one field-path formatter of every input (config file, admin bodies, rollout and
// verification specs): `upstreams.green.targets[0]`, `body.steps[1].weight`,
// `listen["with space"]`. Ajv's instancePath (`/steps/1/weight`, RFC 6901) is turned into it here
// and nowhere else.

/** The path of `key` under `path` (`path` empty: the document itself). Numbers index lists. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  const segment = /^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key);
  if (path === '') return segment;
  return segment.startsWith('"') ? `${path}[${segment}]` : `${path}.${segment}`;
}

/** The segments of a JSON pointer: `/steps/1/weight` → ['steps', 1, 'weight']. */
export function pointerSegments(pointer: string): Array<string | number> {
  if (pointer === '') return [];
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((key) => (/^(0|[1-9]\d*)$/.test(key) ? Number(key) : key));
}

/** `root` + a JSON pointer: ('body', '/steps/0/weight') → `body.steps[0].weight`. */
export function fieldPath(root: string, pointer: string, ...more: Array<string | number>): string {
  return [...pointerSegments(pointer), ...more].reduce<string>((path, key) => childPath(path, key), root);
}
