// The config fields of issue 12 (items 4, 6, 7): defaults and the messages naming the field.
import t from 'tap';
import { ConfigError, parseConfig } from '../../src/config/load.ts';

const base = () => ({
  admin: { token: 'a-token-of-20-chars!' },
  upstreams: { blue: { targets: ['http://10.0.0.1:3000'] }, green: { targets: ['http://10.0.1.1:3000'] } },
});

function issuesOf(extra: Record<string, unknown>): string[] {
  const raw: Record<string, any> = base();
  for (const [key, value] of Object.entries(extra)) raw[key] = { ...(raw[key] ?? {}), ...(value as object) };
  try {
    parseConfig(raw, 'test.yaml', {});
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}

t.test('defaults keep every existing config working', async (t) => {
  const c = parseConfig({ ...base(), preview: {} }, 'test.yaml', {});
  t.strictSame(c.routing.override.allowFrom, ['0.0.0.0/0', '::/0']);
  t.equal(c.routing.override.secret, '');
  t.strictSame(c.preview?.allowFrom, ['0.0.0.0/0', '::/0']);
  t.strictSame(c.admin.allowedHosts, []);
  t.strictSame(c.proxy.upgradeProtocols, ['websocket']);
  t.equal(c.proxy.underscoresInHeaders, false);
});

t.test('valid values are normalised', async (t) => {
  const c = parseConfig(
    {
      ...base(),
      admin: { token: 'a-token-of-20-chars!', allowedHosts: ['Turnout.Internal', '*.monitoring.svc', '*'] },
      routing: { override: { allowFrom: ['10.0.0.0/8', '2001:DB8::/32', '192.168.1.7'], secret: 'x'.repeat(32) } },
      proxy: { upgradeProtocols: ['WebSocket', 'foo/1'] },
    },
    'test.yaml',
    {},
  );
  t.strictSame(c.admin.allowedHosts, ['turnout.internal', '*.monitoring.svc', '*']);
  t.strictSame(c.routing.override.allowFrom, ['10.0.0.0/8', '2001:db8::/32', '192.168.1.7']);
  t.strictSame(c.proxy.upgradeProtocols, ['websocket', 'foo/1']);
});

t.test('invalid values name the field', async (t) => {
  const table: [Record<string, unknown>, string[]][] = [
    [{ routing: { override: { allowFrom: ['10.0.0.0/33'] } } }, ['routing.override.allowFrom[0]: must have a prefix length 0..32']],
    [{ routing: { override: { allowFrom: ['office'] } } }, ['routing.override.allowFrom[0]: must be an IP address or a CIDR range (10.0.0.0/8, 2001:db8::/32)']],
    [{ routing: { override: { secret: 'short' } } }, ['routing.override.secret: must be empty (signed override links off) or at least 32 characters (got 5)']],
    [{ preview: { allowFrom: ['::/200'] } }, ['preview.allowFrom[0]: must have a prefix length 0..128']],
    [{ admin: { token: 'a-token-of-20-chars!', allowedHosts: ['http://x'] } }, ['admin.allowedHosts[0]: must be a host name, "*.<domain>" or "*"']],
    [{ proxy: { upgradeProtocols: ['web socket'] } }, ['proxy.upgradeProtocols[0]: must be an upgrade protocol token (e.g. websocket)']],
    [{ proxy: { underscoresInHeaders: 'yes' } }, ['proxy.underscoresInHeaders: must be true or false, got string "yes"']],
  ];
  for (const [extra, want] of table) t.strictSame(issuesOf(extra), want, JSON.stringify(extra));
});
