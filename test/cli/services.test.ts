// `turnout … --service NAME` and `turnout services` (CONTRACT §10) in-process (main(argv, io))
// against a real admin server of two services built from real parts: what the user saw (exit
// code, output) and what each service's state then holds.
import t from 'tap';
import { main } from '../../src/cli.ts';
import { servicePath } from '../../src/client/admin-client.ts';
import { TEST_TOKEN } from '../helpers/admin.ts';
import { startServicesAdmin } from '../helpers/services-admin.ts';
import { manualClock } from '../state/store-conformance.ts';

async function server(t: Parameters<typeof startServicesAdmin>[0], names = ['shop', 'api']) {
  const admin = await startServicesAdmin(
    t,
    names.map((name) => (name === 'api' ? { name, hosts: ['api.example.com'], pathPrefix: '/v2' } : { name, hosts: [`${name}.example.com`, `*.${name}.example.com`] })),
    { clock: manualClock() },
  );
  const run = async (argv: string[], env: Record<string, string> = {}) => {
    let stdout = '';
    let stderr = '';
    const code = await main([...argv, '--admin', admin.url], {
      stdout: (s) => void (stdout += s),
      stderr: (s) => void (stderr += s),
      env: { TURNOUT_ADMIN_TOKEN: TEST_TOKEN, ...env },
    });
    return { code, stdout, stderr };
  };
  const version = (name: string) => admin.services[name]!.state.state;
  return { admin, run, version };
}

t.test('servicePath: per-service routes get the prefix, the others do not', async (t) => {
  const cases: [string, string | undefined, string][] = [
    ['/api/v1/state', undefined, '/api/v1/state'],
    ['/api/v1/state', 'shop', '/api/v1/services/shop/state'],
    ['/api/v1/events?limit=2', 'shop', '/api/v1/services/shop/events?limit=2'],
    ['/api/v1/rollouts/current/abort', 'api', '/api/v1/services/api/rollouts/current/abort'],
    ['/api/v1/verification/revert', 'api', '/api/v1/services/api/verification/revert'],
    ['/api/v1/shadow', 'a.b', '/api/v1/services/a.b/shadow'],
    ['/api/v1/override-links', 'shop', '/api/v1/services/shop/override-links'],
    ['/api/v1/fleet', 'shop', '/api/v1/fleet'],
    ['/api/v1/services', 'shop', '/api/v1/services'],
    ['/metrics', 'shop', '/metrics'],
  ];
  for (const [path, service, expected] of cases) t.equal(servicePath(path, service), expected, `${path} for ${service ?? 'no service'}`);
});

t.test('turnout services lists them; --json gives the API answer', async (t) => {
  const s = await server(t);
  const list = await s.run(['services']);
  t.equal(list.code, 0, list.stderr);
  t.same(list.stdout.trimEnd().split('\n').map((l) => l.split(/\s{2,}/)), [
    ['SERVICE', 'HOSTS', 'PATH', 'ACTIVE', 'CANARY', 'VERSION', 'ROLLOUT'],
    ['shop', 'shop.example.com,*.shop.example.com', '/', 'blue', 'green 0%', '0', 'none'],
    ['api', 'api.example.com', '/v2', 'blue', 'green 0%', '0', 'none'],
  ]);
  const json = await s.run(['services', '--json']);
  t.equal(json.code, 0);
  t.same(JSON.parse(json.stdout).map((e: { name: string; version: number }) => `${e.name}@${e.version}`), ['shop@0', 'api@0']);
});

t.test('--service NAME: every command acts on that service only', async (t) => {
  const s = await server(t);
  const weight = await s.run(['weight', '10', '--service', 'api', '--reason', 'api canary']);
  t.equal(weight.code, 0, weight.stderr);
  t.match(weight.stdout, /^canary green at 10%, blue at 90% \(version 1\)/);
  t.match(s.version('api'), { version: 1, weight: 10 });
  t.match(s.version('shop'), { version: 0, weight: 0 }, 'shop did not move');

  const flip = await s.run(['flip', '--service', 'shop', '--if-match', '0']);
  t.equal(flip.code, 0, flip.stderr);
  t.match(flip.stdout, /^flipped: green is active, blue idle at 0% \(version 1\)/);
  t.match(s.version('shop'), { version: 1, active: 'green' });
  t.match(s.version('api'), { version: 1, active: 'blue', weight: 10 });

  const stale = await s.run(['rollback', '--service', 'api', '--if-match', '0']);
  t.equal(stale.code, 1, 'If-Match of the named service');
  t.match(stale.stderr, /412/);
  t.equal((await s.run(['rollback', '--service', 'api', '--if-match', '1'])).code, 0);
  t.match(s.version('api'), { version: 2, weight: 0 });

  const status = await s.run(['status', '--service', 'shop']);
  t.equal(status.code, 0, status.stderr);
  t.match(status.stdout, /^service +shop\nactive +green\n/);
  const statusJson = await s.run(['status', '--service', 'api', '--json'], {});
  t.match(JSON.parse(statusJson.stdout), { version: 2, active: 'blue' });

  const events = await s.run(['events', '--service', 'api', '--json']);
  t.same(JSON.parse(events.stdout).map((e: { service: string; action: string }) => `${e.service} ${e.action}`), ['api rollback', 'api weight']);

  const viaEnv = await s.run(['events', '--json'], { TURNOUT_SERVICE: 'shop' });
  t.same(JSON.parse(viaEnv.stdout).map((e: { service: string; action: string }) => `${e.service} ${e.action}`), ['shop flip'], '$TURNOUT_SERVICE works as --service');

  const shadow = await s.run(['shadow', 'set', '3', '--service', 'api']);
  t.equal(shadow.code, 0, shadow.stderr);
  t.match(shadow.stdout, /^percent +3%/);
  t.equal(s.admin.services.api!.state.snapshot.shadowPercent, 3);
  t.equal(s.admin.services.shop!.state.snapshot.shadowPercent, 0);

  const rollout = await s.run(['rollout', 'start', '--steps', '10:600,100:60', '--service', 'shop']);
  t.equal(rollout.code, 0, rollout.stderr);
  t.match((await s.run(['rollout', 'status', '--service', 'shop'])).stdout, /running, step 1\/2/);
  const none = await s.run(['rollout', 'status', '--service', 'api']);
  t.equal(none.code, 1);
  t.match(none.stderr, /404.*no rollout has run/);
  t.equal((await s.run(['rollout', 'abort', '--service', 'shop'])).code, 0);
  t.match(s.admin.services.shop!.rollouts.current(), { status: 'aborted' });
});

t.test('without --service and several services: a one-line reason naming service; an unknown name: 404', async (t) => {
  const s = await server(t);
  const bare = await s.run(['status']);
  t.equal(bare.code, 1);
  t.equal(bare.stderr.trimEnd().split('\n').length, 1);
  t.match(bare.stderr, /^turnout status: 400 Bad Request: service: this server has 2 services \(shop, api\); name one/);
  const flip = await s.run(['flip']);
  t.equal(flip.code, 1);
  t.match(flip.stderr, /service: this server has 2 services/);
  const unknown = await s.run(['weight', '5', '--service', 'nope']);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /^turnout weight: 404 Not Found: params\.service: no service "nope" \(services: shop, api\)/);
  const bad = await s.run(['status', '--service', '../state']);
  t.equal(bad.code, 2, 'a name that is not one is a usage error');
  t.match(bad.stderr, /--service must be a service name/);
  t.match(s.version('shop'), { version: 0 });
  t.match(s.version('api'), { version: 0 });
});

t.test('one service: the commands work without --service, and with its name', async (t) => {
  const s = await server(t, ['shop']);
  t.equal((await s.run(['weight', '5'])).code, 0);
  t.equal((await s.run(['weight', '6', '--service', 'shop'])).code, 0);
  t.match(s.version('shop'), { version: 2, weight: 6 });
  const help = await s.run(['weight', '--help']);
  t.match(help.stdout, /--service NAME/);
});
