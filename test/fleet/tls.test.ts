// rediss:// (TLS) to Redis: a real `turnout serve` trusting a private CA through
// NODE_EXTRA_CA_CERTS, against a TLS-only redis-server with a certificate for 127.0.0.1.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt } from '../helpers/build.ts';
import { freePort, redisMissing, startRedis } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { TEST_TOKEN } from '../helpers/app.ts';
import { upstreams } from './harness.ts';

function opensslMissing(): string | null {
  if (spawnSync('sh', ['-c', 'command -v openssl']).status === 0) return null;
  if (process.env.CI === 'true') throw new Error('openssl not installed (apt-get install openssl) and CI=true');
  return 'skipped: openssl not installed (apt-get install openssl)';
}

const missing = redisMissing() ?? opensslMissing();
if (missing !== null) {
  t.comment(missing);
  t.pass(missing);
} else {
  t.before(ensureBuilt);
  t.test('a replica reaches Redis over rediss://', async (t) => {
    const dir = t.testdir();
    const run = (args: string[]) => {
      const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`);
    };
    run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=turnout-test-ca']);
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'ext.cnf']);
    const redis = await startRedis(t, { tls: { cert: join(dir, 'server.pem'), key: join(dir, 'server.key'), ca: join(dir, 'ca.pem') } });
    t.match(redis.url, /^rediss:\/\//);

    const up = await upstreams(t);
    const adminPort = await freePort();
    const config = {
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: adminPort, token: TEST_TOKEN },
      upstreams: { blue: { targets: [up.blue.url] }, green: { targets: [up.green.url] } },
      state: { store: 'redis', url: redis.url, key: 'tls' },
      fleet: { replica: 'tls-1', heartbeatMs: 200 },
    };
    const file = join(dir, 'turnout.json');
    writeFileSync(file, JSON.stringify(config));
    const child = spawn(process.execPath, ['dist/cli.js', 'serve', '--config', file], { env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    t.teardown(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const admin = `http://127.0.0.1:${adminPort}`;
    const api = (path: string, init: RequestInit = {}) => fetch(admin + path, { ...init, headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' } });
    await waitFor(async () => (await fetch(admin + '/healthz').catch(() => null))?.status === 200, `serve is up (${output})`, 20_000);
    const flip = await api('/api/v1/flip', { method: 'POST' });
    t.equal(flip.status, 200);
    t.match(await flip.json(), { version: 1, active: 'green', converged: { applied: 1, replicas: 1 } });
    t.match(await (await fetch(admin + '/metrics')).text(), /turnout_state_store_up\{replica="tls-1"\} 1/);
  });
}
