// The shadow defaults used for hand-built configs are the schema's defaults, and the shadow
// fields validate (a bad value names its field).
import t from 'tap';
import { parseConfig } from '../../src/config/load.ts';
import { SHADOW_DEFAULTS } from '../../src/shadow/defaults.ts';

const base = { admin: { token: 'a-token-of-16-characters-or-more' }, upstreams: { blue: { targets: ['http://127.0.0.1:1'] }, green: { targets: ['http://127.0.0.1:2'] } } };

t.test('SHADOW_DEFAULTS equal the schema defaults', async (t) => {
  t.strictSame(parseConfig(base, 'test', {}).shadow, SHADOW_DEFAULTS);
});

t.test('shadow fields are validated and normalised', async (t) => {
  const ok = parseConfig({ ...base, shadow: { methods: ['get', 'OPTIONS'], ignoreHeaders: ['X-Request-Id'], ignoreJsonPaths: ['$.meta.time', '$.items[*].id', '$[0]'] } }, 'test', {});
  t.same(ok.shadow?.methods, ['GET', 'OPTIONS']);
  t.same(ok.shadow?.ignoreHeaders, ['x-request-id']);
  for (const [shadow, field] of [
    [{ percent: 101 }, 'shadow.percent'],
    [{ ignoreJsonPaths: ['meta.time'] }, 'shadow.ignoreJsonPaths'],
    [{ methods: ['G ET'] }, 'shadow.methods'],
    [{ timeoutMs: 1 }, 'shadow.timeoutMs'],
    [{ unknown: 1 }, 'shadow.unknown'],
  ] as const) {
    t.throws(() => parseConfig({ ...base, shadow }, 'test', {}), new RegExp(field.replace(/\./g, '\\.')), field);
  }
});
