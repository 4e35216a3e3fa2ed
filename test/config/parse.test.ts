import t from 'tap';
import { toWeight } from '../../src/domain.ts';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import type { TurnoutConfig } from '../../src/config/types.ts';
import { TurnoutError } from '../../src/errors.ts';

const TOKEN = 'a-token-of-20-chars!';

/** The smallest valid config, fresh each call. */
function minimal(): Record<string, unknown> {
  return {
    admin: { token: TOKEN },
    upstreams: { blue: { targets: ['http://10.0.0.1:3000'] }, green: { targets: ['http://10.0.1.1:3000'] } },
  };
}

/** minimal() with the value at a dotted path (numeric segments index arrays) replaced or deleted. */
function withValue(path: string, value: unknown): Record<string, unknown> {
  const root = minimal();
  const keys = path.split('.');
  let node = root as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = keys.at(-1) as string;
  if (value === DELETE) delete node[last];
  else node[last] = value;
  return root;
}
const DELETE = Symbol('delete');

function issuesOf(raw: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(raw, 'test.yaml', env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}

t.test('defaults: the minimal config gets exactly CONTRACT §2', async (t) => {
  const config = parseConfig(minimal(), 'test.yaml', {});
  const expected: TurnoutConfig = {
    listen: { host: '0.0.0.0', port: 8080, tls: null, http2: true },
    admin: { host: '127.0.0.1', port: 9901, tls: null, http2: true, token: TOKEN, allowedHosts: [] },
    preview: null,
    upstreams: { blue: { targets: ['http://10.0.0.1:3000'] }, green: { targets: ['http://10.0.1.1:3000'] } },
    routing: {
      active: 'blue',
      canaryWeight: toWeight(0),
      sticky: { by: 'cookie', cookie: 'turnout_id', header: 'x-user-id' },
      override: { enabled: true, header: 'x-turnout-colour', cookie: 'turnout_colour', allowFrom: ['0.0.0.0/0', '::/0'], secret: '' },
      exposeColourHeader: true,
      verify: null,
    },
    timeouts: { connectMs: 2000, responseMs: 30000, clientIdleMs: 60000, clientBodyMs: 30000, sendMs: 30000, queueMs: 5000 },
    healthCheck: { path: '/healthz', intervalMs: 2000, timeoutMs: 1000, unhealthyAfter: 2, healthyAfter: 2 },
    outlier: { consecutiveFailures: 3, ejectMs: 10000, maxEjectionPercent: 50 },
    shutdown: { drainSeconds: 10 },
    state: { store: 'file', path: './data/state.json', key: 'turnout' },
    fleet: { leaseMs: 5000, convergeTimeoutMs: 1000, heartbeatMs: 1000, replica: '' },
    proxy: { trustedProxies: [], maxHeaders: 100, retryBudget: 0.2, upgradeProtocols: ['websocket'], underscoresInHeaders: false, connectionsPerTarget: 256, maxQueuedPerTarget: 1024, maxConcurrentPerClient: 1024, requestBufferBytes: 0 },
    metrics: { windowSeconds: 60 },
    log: { access: false },
    workers: 1,
    spareWorkers: 1,
    notify: { webhooks: [], secret: '' },
    shadow: { percent: 0, methods: ['GET', 'HEAD'], maxBodyBytes: 1048576, memoryBytes: 67108864, timeoutMs: 5000, ignoreHeaders: ['date'], ignoreJsonPaths: [], noisePercent: 10 },
  };
  t.strictSame(config, expected);
  t.notOk('url' in config.state, 'optional state.url stays absent');
});

t.test('partial sections keep the defaults of their other fields; null sections are all defaults', async (t) => {
  const raw = { ...minimal(), listen: { port: 0 }, preview: { port: 9000 }, routing: { sticky: { by: 'ip' } }, notify: null };
  const config = parseConfig(raw, 'test.yaml', {});
  t.strictSame(config.listen, { host: '0.0.0.0', port: 0, tls: null, http2: true });
  t.strictSame(config.preview, { host: '0.0.0.0', port: 9000, tls: null, http2: true, allowFrom: ['0.0.0.0/0', '::/0'] });
  t.strictSame(config.routing.sticky, { by: 'ip', cookie: 'turnout_id', header: 'x-user-id' });
  t.strictSame(config.notify, { webhooks: [], secret: '' });
  t.equal(parseConfig({ ...minimal(), preview: null }, 'x', {}).preview, null);
});

t.test('valid values are accepted and normalised', async (t) => {
  const table: [string, unknown, (c: TurnoutConfig) => unknown, unknown][] = [
    ['upstreams.blue.targets', ['http://A.example:80/', 'https://b.example:8443'], (c) => c.upstreams.blue.targets, ['http://a.example', 'https://b.example:8443']],
    ['routing.sticky.header', 'X-Tenant-Id', (c) => c.routing.sticky.header, 'x-tenant-id'],
    ['routing.override.header', 'X-Colour', (c) => c.routing.override.header, 'x-colour'],
    ['routing.canaryWeight', 12.3456, (c) => c.routing.canaryWeight, 12.3456],
    ['routing.canaryWeight', 100, (c) => c.routing.canaryWeight, 100],
    ['routing.active', 'green', (c) => c.routing.active, 'green'],
    ['listen.port', 65535, (c) => c.listen.port, 65535],
    ['listen.host', '::1', (c) => c.listen.host, '::1'],
    ['listen.host', 'localhost', (c) => c.listen.host, 'localhost'],
    ['proxy.trustedProxies', ['10.0.0.1', '2001:DB8::1'], (c) => c.proxy.trustedProxies, ['10.0.0.1', '2001:db8::1']],
    ['proxy.retryBudget', 0, (c) => c.proxy.retryBudget, 0],
    ['state.store', 'memory', (c) => c.state.store, 'memory'],
    ['notify.webhooks', ['https://hooks.example.com/t/abc?x=1'], (c) => c.notify.webhooks, ['https://hooks.example.com/t/abc?x=1']],
    ['shutdown.drainSeconds', 0, (c) => c.shutdown.drainSeconds, 0],
    ['workers', 'auto', (c) => c.workers, 'auto'],
    ['workers', 4, (c) => c.workers, 4],
    ['spareWorkers', 0, (c) => c.spareWorkers, 0],
  ];
  for (const [path, value, get, want] of table) {
    t.strictSame(get(parseConfig(withValue(path, value), 'test.yaml', {})), want, `${path} = ${JSON.stringify(value)}`);
  }
});

t.test('every rule reports its exact field path and reason', async (t) => {
  const table: [string, unknown, string][] = [
    // required fields
    ['upstreams', DELETE, 'upstreams: required: blue and green, each with a non-empty "targets" list'],
    ['upstreams.green', DELETE, 'upstreams.green: required: a mapping with a non-empty "targets" list'],
    ['upstreams.blue.targets', DELETE, 'upstreams.blue.targets: required: a non-empty list'],
    ['upstreams.blue.targets', [], 'upstreams.blue.targets: must not be empty'],
    ['upstreams.blue.targets', 'http://x', 'upstreams.blue.targets: must be a list, got string "http://x"'],
    ['admin.token', DELETE, 'admin.token: required: a bearer token of at least 16 characters guards the admin API'],
    ['admin.token', 'short', 'admin.token: must be at least 16 characters (got 5): it guards the admin API'],
    ['admin', DELETE, 'admin.token: required'],
    // unknown fields
    ['upstreams.bleu', { targets: [] }, 'upstreams.bleu: unknown field (did you mean "blue"?)'],
    ['listen.hots', 'x', 'listen.hots: unknown field (did you mean "host"?)'],
    ['extra', 1, 'extra: unknown field'],
    ['routing.sticky.Cookie', 'x', 'routing.sticky.Cookie: unknown field (did you mean "cookie"?)'],
    ['listen.with space', 1, 'listen["with space"]: unknown field'],
    // targets
    ['upstreams.green.targets', ['ftp://x'], 'upstreams.green.targets[0]: must be an http(s) URL'],
    ['upstreams.green.targets', ['10.0.0.1:3000'], 'upstreams.green.targets[0]: must be an http(s) URL'],
    ['upstreams.green.targets', ['not a url'], 'upstreams.green.targets[0]: must be an http(s) URL'],
    ['upstreams.green.targets', ['http://u:p@x'], 'upstreams.green.targets[0]: must not contain credentials'],
    ['upstreams.green.targets', ['http://x/api'], 'upstreams.green.targets[0]: must not have a path'],
    ['upstreams.green.targets', ['http://x/?a=1'], 'upstreams.green.targets[0]: must not have a query'],
    ['upstreams.green.targets', ['http://x?'], 'upstreams.green.targets[0]: must not have a query'],
    ['upstreams.green.targets', ['http://x#top'], 'upstreams.green.targets[0]: must not have a fragment'],
    ['upstreams.green.targets', ['http://x', 8080], 'upstreams.green.targets[1]: must be a string, got number 8080'],
    ['upstreams.green.targets', ['http://x:80', 'http://x/'], 'upstreams.green.targets[1]: duplicate of upstreams.green.targets[0]'],
    // ports and hosts
    ['listen.port', '8080', 'listen.port: must be an integer, got string "8080"'],
    ['listen.port', 65536, 'listen.port: must be between 0 and 65535, got 65536'],
    ['admin.port', -1, 'admin.port: must be between 0 and 65535, got -1'],
    ['admin.port', 80.5, 'admin.port: must be an integer, got 80.5'],
    ['workers', 'all', 'workers: must be an integer or "auto", got string "all"'],
    ['workers', 0, 'workers: must be between 1 and 1024, got 0'],
    ['spareWorkers', 17, 'spareWorkers: must be between 0 and 16, got 17'],
    ['preview.port', null, 'preview.port: must be an integer, got null'],
    ['listen.host', 'bad host', 'listen.host: must be an IP address or a host name'],
    ['listen.host', '', 'listen.host: must be an IP address or a host name'],
    ['preview', 'yes', 'preview: must be a mapping of fields, got string "yes"'],
    // routing
    ['routing.active', 'purple', 'routing.active: must be one of blue, green, got string "purple"'],
    ['routing.active', 1, 'routing.active: must be a string, got number 1'],
    ['routing.canaryWeight', 100.5, 'routing.canaryWeight: must be between 0 and 100, got 100.5'],
    ['routing.canaryWeight', -1, 'routing.canaryWeight: must be between 0 and 100, got -1'],
    ['routing.canaryWeight', 1.23456, 'routing.canaryWeight: must have at most 4 decimals'],
    ['routing.canaryWeight', '8', 'routing.canaryWeight: must be a number, got string "8"'],
    ['routing.sticky.by', 'session', 'routing.sticky.by: must be one of cookie, header, ip, none, got string "session"'],
    ['routing.sticky.cookie', 'a b', 'routing.sticky.cookie: must be a valid token'],
    ['routing.sticky.cookie', 'a;b', 'routing.sticky.cookie: must be a valid token'],
    ['routing.sticky.header', 'x:user', 'routing.sticky.header: must be a valid token'],
    ['routing.override.header', '', 'routing.override.header: must be a valid token'],
    ['routing.override.cookie', 'a=b', 'routing.override.cookie: must be a valid token'],
    ['routing.override.enabled', 'true', 'routing.override.enabled: must be true or false, got string "true"'],
    ['routing.exposeColourHeader', 1, 'routing.exposeColourHeader: must be true or false, got number 1'],
    ['routing.sticky', ['cookie'], 'routing.sticky: must be a mapping of fields, got a list'],
    // timeouts, health, outlier
    ['timeouts.connectMs', 0, 'timeouts.connectMs: must be between 10 and 2147483647, got 0'],
    ['timeouts.responseMs', 1.5, 'timeouts.responseMs: must be an integer, got 1.5'],
    ['timeouts.clientIdleMs', 50, 'timeouts.clientIdleMs: must be between 100 and 2147483647, got 50'],
    ['timeouts.connectMs', 2 ** 31, 'timeouts.connectMs: must be between 10 and 2147483647, got 2147483648'],
    ['healthCheck.path', 'healthz', 'healthCheck.path: must be a path starting with "/"'],
    ['healthCheck.intervalMs', 99, 'healthCheck.intervalMs: must be between 100 and 2147483647, got 99'],
    ['healthCheck.timeoutMs', 5000, 'healthCheck.timeoutMs: must not exceed healthCheck.intervalMs (2000)'],
    ['healthCheck.unhealthyAfter', 0, 'healthCheck.unhealthyAfter: must be between 1 and 100, got 0'],
    ['healthCheck.healthyAfter', '2', 'healthCheck.healthyAfter: must be an integer, got string "2"'],
    ['outlier.consecutiveFailures', 0, 'outlier.consecutiveFailures: must be between 1 and 1000, got 0'],
    ['outlier.ejectMs', 10, 'outlier.ejectMs: must be between 100 and 2147483647, got 10'],
    ['outlier.maxEjectionPercent', 101, 'outlier.maxEjectionPercent: must be between 0 and 100, got 101'],
    ['shutdown.drainSeconds', -1, 'shutdown.drainSeconds: must be between 0 and 3600, got -1'],
    // state
    ['state.store', 'sqlite', 'state.store: must be one of file, memory, redis, got string "sqlite"'],
    ['state.store', 'redis', 'state.url: required when state.store is redis'],
    ['state.key', 'a b', 'state.key: must be 1..64 characters'],
    ['fleet.leaseMs', 100, 'fleet.leaseMs: must be between 300'],
    ['fleet.replica', 'a/b', 'fleet.replica: must be empty (automatic)'],
    ['state.path', '', 'state.path: must not be empty'],
    ['state.url', 'http://x', 'state.url: must be a redis:// or rediss:// URL'],
    // proxy, metrics, notify
    ['proxy.trustedProxies', ['10.0.0.0/8'], 'proxy.trustedProxies[0]: must be an IP address'],
    ['proxy.trustedProxies', '10.0.0.1', 'proxy.trustedProxies: must be a list, got string "10.0.0.1"'],
    ['proxy.maxHeaders', 5, 'proxy.maxHeaders: must be between 10 and 10000, got 5'],
    ['proxy.retryBudget', 1.5, 'proxy.retryBudget: must be between 0 and 1, got 1.5'],
    ['metrics.windowSeconds', 5, 'metrics.windowSeconds: must be between 10 and 3600, got 5'],
    ['metrics.windowSeconds', 3601, 'metrics.windowSeconds: must be between 10 and 3600, got 3601'],
    ['notify.webhooks', ['mailto:ops@example.com'], 'notify.webhooks[0]: must be an http(s) URL'],
    ['notify.secret', 42, 'notify.secret: must be a string, got number 42'],
  ];
  for (const [path, value, want] of table) {
    const got = issuesOf(withValue(path, value));
    t.ok(
      got.some((line) => line.startsWith(want)),
      `${path} = ${typeof value === 'symbol' ? '(absent)' : JSON.stringify(value)}`,
      { got, want },
    );
  }
});

t.test('cross-field rules', async (t) => {
  const base = minimal();
  const table: [Record<string, unknown>, string[]][] = [
    [{ state: { store: 'redis' } }, ['state.url: required when state.store is redis']],
    [{ state: { store: 'redis', url: 'redis://127.0.0.1:6379' } }, []],
    [{ listen: { port: 9901 } }, ['admin.port: 9901 is already used by listen.port']],
    [{ preview: { port: 8080 } }, ['preview.port: 8080 is already used by listen.port']],
    [{ listen: { host: '127.0.0.1', port: 9000 }, preview: { host: '127.0.0.2', port: 9000 } }, []],
    [{ listen: { port: 0 }, admin: { token: TOKEN, port: 0 }, preview: { port: 0 } }, []],
    [{ routing: { override: { cookie: 'turnout_id' } } }, ['routing.override.cookie: must differ from routing.sticky.cookie ("turnout_id")']],
    [{ routing: { sticky: { by: 'header' }, override: { header: 'X-User-Id' } } }, ['routing.override.header: must differ from routing.sticky.header ("x-user-id")']],
    [{ routing: { sticky: { by: 'ip' }, override: { header: 'x-user-id' } } }, []],
    [{ routing: { override: { enabled: false, cookie: 'turnout_id' } } }, []],
    [{ healthCheck: { intervalMs: 500, timeoutMs: 500 } }, []],
  ];
  for (const [patch, want] of table) t.strictSame(issuesOf({ ...base, ...patch }), want, JSON.stringify(patch));
});

t.test('every issue is reported at once, in one multi-line message', async (t) => {
  const raw = {
    listen: { port: '8080', hst: 'x' },
    admin: { token: 'short' },
    upstreams: { bleu: {}, green: { targets: ['ftp://x', 'http://y'] } },
    routing: { canaryWeight: 1.00001 },
    state: { store: 'redis' },
  };
  let error: unknown;
  try {
    parseConfig(raw, 'config/turnout.yaml', {});
  } catch (err) {
    error = err;
  }
  t.ok(error instanceof ConfigError);
  t.ok(error instanceof TurnoutError);
  const e = error as ConfigError;
  t.equal(e.code, 'TURNOUT_ERR_CONFIG');
  t.equal(e.name, 'ConfigError');
  t.equal(e.file, 'config/turnout.yaml');
  t.strictSame(e.issues.map((i) => i.path), [
    'listen.hst',
    'listen.port',
    'admin.token',
    'upstreams.bleu',
    'upstreams.blue',
    'upstreams.green.targets[0]',
    'routing.canaryWeight',
    'state.url',
  ]);
  const lines = e.message.split('\n');
  t.equal(lines[0], 'config/turnout.yaml: invalid configuration');
  t.equal(lines.length, 1 + e.issues.length);
  t.ok(lines.includes('  upstreams.green.targets[0]: must be an http(s) URL'));
  t.ok(lines.includes('  listen.port: must be an integer, got string "8080"'));
  t.ok(Object.isFrozen(e.issues));
});

t.test('${VAR} expansion in every string value', async (t) => {
  const env = { TOKEN: TOKEN, HOST: '10.0.0.9', PORT: '3000', SCHEME: 'https', COLOUR: 'green', HDR: 'X-Team', EMPTY: '' };
  const raw = {
    listen: { host: '${HOST}' },
    admin: { token: '${TOKEN}' },
    upstreams: {
      blue: { targets: ['http://${HOST}:${PORT}', '${SCHEME}://${HOST}:4000'] },
      green: { targets: ['http://g.example:${PORT}'] },
    },
    routing: { active: '${COLOUR}', sticky: { by: 'header', header: '${HDR}' } },
    state: { path: '/var/lib/turnout${EMPTY}/state.json' },
    notify: { secret: 'literal-$${NOT_A_VAR}' },
  };
  const config = parseConfig(raw, 'x', env);
  t.equal(config.listen.host, '10.0.0.9');
  t.equal(config.admin.token, TOKEN);
  t.strictSame(config.upstreams.blue.targets, ['http://10.0.0.9:3000', 'https://10.0.0.9:4000']);
  t.strictSame(config.upstreams.green.targets, ['http://g.example:3000']);
  t.equal(config.routing.active, 'green');
  t.equal(config.routing.sticky.header, 'x-team');
  t.equal(config.state.path, '/var/lib/turnout/state.json');
  t.equal(config.notify.secret, 'literal-${NOT_A_VAR}');
  t.equal(raw.admin.token, '${TOKEN}', 'the input keeps its references');

  // Unset variables: an error naming the variable and the field; values are validated after expansion.
  t.strictSame(issuesOf({ ...minimal(), admin: { token: '${TURNOUT_ADMIN_TOKEN}' } }), [
    'admin.token: environment variable TURNOUT_ADMIN_TOKEN is not set',
  ]);
  t.strictSame(issuesOf({ ...minimal(), upstreams: { blue: { targets: ['http://${B_HOST}:${B_PORT}'] }, green: { targets: ['http://${G}'] } } }), [
    'upstreams.blue.targets[0]: environment variables B_HOST, B_PORT are not set',
    'upstreams.green.targets[0]: environment variable G is not set',
  ]);
  t.strictSame(issuesOf({ ...minimal(), admin: { token: '${T}' } }, { T: 'short' }), [
    'admin.token: must be at least 16 characters (got 5): it guards the admin API, which can move all traffic',
  ]);
  t.strictSame(issuesOf({ ...minimal(), routing: { active: '${C}' } }, { C: 'red' }), ['routing.active: must be one of blue, green, got string "red"']);
  // Numbers never expand: a port written as a string stays a type error.
  t.strictSame(issuesOf({ ...minimal(), listen: { port: '${PORT}' } }, { PORT: '80' }), ['listen.port: must be an integer, got string "${PORT}"']);
});

t.test('the result is deep-frozen and the input is never mutated', async (t) => {
  const raw = { ...minimal(), listen: { port: 0 }, upstreams: { blue: { targets: ['http://B:1/'] }, green: { targets: ['http://g:2'] } }, proxy: { trustedProxies: ['10.0.0.1'] } };
  const before = structuredClone(raw);
  const config = parseConfig(raw, 'x', {});
  t.strictSame(raw, before, 'input unchanged (no defaults or normalisation written back)');
  t.notOk(Object.isFrozen(raw.upstreams.blue.targets), 'input not frozen');
  const frozen = (v: unknown): boolean => typeof v !== 'object' || v === null || (Object.isFrozen(v) && Object.values(v).every(frozen));
  t.ok(frozen(config), 'every object and array of the result is frozen');
  t.throws(() => {
    (config.upstreams.blue.targets as string[]).push('http://x');
  }, TypeError);
  t.throws(() => {
    (config.listen as { port: number }).port = 1;
  }, TypeError);
  // Defaults are copied, never shared: a second parse still works and gets its own arrays.
  const a = parseConfig(minimal(), 'x', {});
  const b = parseConfig(minimal(), 'x', {});
  t.not(a.notify.webhooks, b.notify.webhooks);
  t.not(a.routing, b.routing);
  // A failed parse leaves the input alone too.
  const bad = { ...minimal(), listen: { port: '1' } };
  const badBefore = structuredClone(bad);
  t.throws(() => parseConfig(bad, 'x', {}), ConfigError);
  t.strictSame(bad, badBefore);
});

t.test('the document itself must be a mapping; prototype keys are plain unknown fields', async (t) => {
  t.strictSame(issuesOf('listen: 1'), [': must be a mapping of fields, got string "listen: 1"']);
  t.strictSame(issuesOf([1]), [': must be a mapping of fields, got a list']);
  t.strictSame(issuesOf(null), [
    'admin.token: required: a bearer token of at least 16 characters guards the admin API (e.g. token: "${TURNOUT_ADMIN_TOKEN}")',
    'upstreams: required: blue and green, each with a non-empty "targets" list',
  ]);
  const hostile = JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1}') as Record<string, unknown>;
  const got = issuesOf({ ...minimal(), ...hostile });
  t.ok(got.includes('__proto__: unknown field'), JSON.stringify(got));
  t.ok(got.includes('constructor: unknown field'));
  t.equal(({} as Record<string, unknown>).polluted, undefined);
});
