// Certificate files (CONTRACT §8): an unreadable file, a key that does not match, an expired
// certificate are config errors naming field and file before anything listens; SIGHUP re-reads
// them without dropping established sessions, and a bad new pair is refused (logged) while the
// old one stays in force; per-SNI certificates.
import t, { type Test } from 'tap';
import tls from 'node:tls';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { parseConfig, ConfigError } from '../../src/config/load.ts';
import { buildApp } from '../../src/app.ts';
import { loadCertificates } from '../../src/tls/certificates.ts';
import { startApp, TEST_TOKEN } from '../helpers/app.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { ensureBuilt } from '../helpers/build.ts';
import { waitFor } from '../helpers/wait.ts';
import { h2Connect, h2Request, hasTool, makeCertificate, peerCn, type CertFiles } from '../helpers/tls.ts';

/** The CN of the certificate a new TLS connection to `url` is served (with `servername` for SNI). */
function servedCn(url: string, servername?: string): Promise<{ cn: string | undefined; alpn: string | false | null }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: hostname, port: Number(port), rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'], ...(servername ? { servername } : {}) }, () => {
      const result = { cn: peerCn(socket.getPeerCertificate()), alpn: socket.alpnProtocol };
      socket.destroy();
      resolve(result);
    });
    socket.on('error', reject);
  });
}

function configWith(listen: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return parseConfig(
    { listen: { host: '127.0.0.1', port: 0, ...listen }, admin: { host: '127.0.0.1', port: 0, token: TEST_TOKEN }, state: { store: 'memory' }, upstreams: { blue: { targets: ['http://127.0.0.1:1'] }, green: { targets: ['http://127.0.0.1:1'] } }, ...extra },
    'test.yaml',
  );
}

async function buildError(t: Test, config: ReturnType<typeof configWith>): Promise<ConfigError> {
  try {
    const app = await buildApp(config, { logger: false, background: false, configSource: 'test.yaml' });
    await app.close();
  } catch (err) {
    t.type(err, ConfigError);
    return err as ConfigError;
  }
  throw new Error('buildApp did not fail');
}

t.test('bad certificate files are config errors naming the field and the file', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const dir = t.testdir();
  const good = makeCertificate(dir, 'good');
  const other = makeCertificate(dir, 'other');
  const expired = makeCertificate(dir, 'expired', { days: -1 });
  const missing = join(dir, 'missing.crt');
  writeFileSync(join(dir, 'junk.pem'), 'not a certificate\n');

  const e1 = await buildError(t, configWith({ tls: { cert: missing, key: good.key } }));
  t.match(e1.message, /^test\.yaml: invalid TLS certificates\n/);
  t.same(e1.issues, [{ path: 'listen.tls.cert', message: `${missing}: cannot be read (ENOENT)` }]);

  const e2 = await buildError(t, configWith({ tls: { cert: good.cert, key: other.key } }));
  t.same(e2.issues, [{ path: 'listen.tls.key', message: `${other.key}: does not match the certificate in ${good.cert}` }]);

  const e3 = await buildError(t, configWith({ tls: expired }));
  t.equal(e3.issues.length, 1);
  t.equal(e3.issues[0]!.path, 'listen.tls.cert');
  t.match(e3.issues[0]!.message, `${expired.cert}: expired on `);

  const e4 = await buildError(t, configWith({ tls: { cert: join(dir, 'junk.pem'), key: good.key } }));
  t.match(e4.issues[0], { path: 'listen.tls.cert', message: /junk\.pem: not a PEM certificate/ });

  // Every listener's problems at once, SNI entries by index.
  const e5 = await buildError(
    t,
    configWith({ tls: { ...good, certificates: [{ names: ['a.test'], cert: good.cert, key: missing }] } }, { preview: { host: '127.0.0.1', port: 0, tls: expired } }),
  );
  t.same(e5.issues.map((i) => i.path), ['listen.tls.certificates[0].key', 'preview.tls.cert']);
});

t.test('expiry is judged by the clock given (a certificate valid now is expired later)', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const pair = makeCertificate(t.testdir(), 'c', { days: 2 });
  const config = { cert: pair.cert, key: pair.key, certificates: [] };
  t.ok(loadCertificates(config, 'listen.tls', new Date()).defaultPair.validTo > new Date());
  t.throws(() => loadCertificates(config, 'listen.tls', new Date(Date.now() + 3 * 86_400_000)), /listen\.tls\.cert: .* expired on/);
});

t.test('the config schema: tls fields, SNI names', async (t) => {
  const bad = () => configWith({ tls: { cert: '', certificates: [{ names: ['not a name'], cert: 'c' }] } });
  try {
    bad();
    t.fail('should throw');
  } catch (err) {
    t.same((err as ConfigError).issues.map((i) => i.path).sort(), [
      'listen.tls.cert', 'listen.tls.certificates[0].key', 'listen.tls.certificates[0].names[0]', 'listen.tls.key',
    ]);
  }
  const ok = configWith({ tls: { cert: 'a', key: 'b', certificates: [{ names: ['*.Example.com'], cert: 'c', key: 'd' }] }, http2: false });
  t.same(ok.listen.tls, { cert: 'a', key: 'b', certificates: [{ names: ['*.example.com'], cert: 'c', key: 'd' }] });
  t.equal(ok.listen.http2, false);
  t.equal(configWith({}).listen.tls, null);
});

t.test('reload: new handshakes get the new pair, open sessions keep working, a bad pair is refused', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const dir = t.testdir();
  const first = makeCertificate(dir, 'first', { cn: 'first' });
  const second = makeCertificate(dir, 'second', { cn: 'second' });
  const other = makeCertificate(dir, 'other', { cn: 'other' });
  const live: CertFiles = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
  const install = (pair: CertFiles) => {
    copyFileSync(pair.cert, live.cert);
    copyFileSync(pair.key, live.key);
  };
  install(first);
  const blue = await startUpstream(t, 'blue');
  const app = await startApp(t, { listen: { host: '127.0.0.1', port: 0, tls: live }, upstreams: { blue: { targets: [blue.url] }, green: { targets: [blue.url] } } });
  t.equal((await servedCn(app.proxy)).cn, 'first');
  const session = h2Connect(t, app.proxy);
  t.equal((await h2Request(session, { ':path': '/before' })).status, 200);

  install(second);
  const [ok] = app.app.reloadCertificates();
  t.match(ok, { ok: true, message: /^listen\.tls: certificates reloaded \(valid until / });
  t.same(await servedCn(app.proxy), { cn: 'second', alpn: 'h2' }, 'a new connection gets the new certificate, still h2');
  t.equal((await h2Request(session, { ':path': '/after' })).status, 200, 'the session opened before the reload still serves');
  t.notOk(session.closed || session.destroyed, 'and was never closed');

  // A key that does not match: refused, the second pair stays.
  copyFileSync(first.cert, live.cert);
  copyFileSync(other.key, live.key);
  const [refused] = app.app.reloadCertificates();
  t.match(refused, { ok: false, message: /^listen\.tls: kept the certificates in force: listen\.tls\.key: .*does not match/ });
  t.equal((await servedCn(app.proxy)).cn, 'second', 'the old certificate stays in force');
  t.equal((await h2Request(session, { ':path': '/still' })).status, 200);
});

t.test('per-SNI certificates: exact names, one-label wildcards, the default otherwise', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const dir = t.testdir();
  const main = makeCertificate(dir, 'main', { cn: 'main' });
  const api = makeCertificate(dir, 'api', { cn: 'api', names: ['api.test'] });
  const wild = makeCertificate(dir, 'wild', { cn: 'wild', names: ['*.apps.test'] });
  const blue = await startUpstream(t, 'blue');
  const app = await startApp(t, {
    listen: { host: '127.0.0.1', port: 0, tls: { ...main, certificates: [{ names: ['api.test'], ...api }, { names: ['*.apps.test'], ...wild }] } },
    upstreams: { blue: { targets: [blue.url] }, green: { targets: [blue.url] } },
  });
  t.same(await servedCn(app.proxy, 'api.test'), { cn: 'api', alpn: 'h2' });
  t.same(await servedCn(app.proxy, 'API.test'), { cn: 'api', alpn: 'h2' }, 'case-insensitive');
  t.equal((await servedCn(app.proxy, 'one.apps.test')).cn, 'wild');
  t.equal((await servedCn(app.proxy, 'a.b.apps.test')).cn, 'main', 'a wildcard covers one label only');
  t.equal((await servedCn(app.proxy, 'elsewhere.test')).cn, 'main');
  t.equal((await servedCn(app.proxy)).cn, 'main', 'no SNI: the default');
  const session = h2Connect(t, app.proxy, { servername: 'api.test' });
  t.equal((await h2Request(session, { ':path': '/sni', ':authority': 'api.test' })).status, 200);
  t.equal(blue.seen.at(-1)!.headers.host, 'api.test');
});

t.test('serve: a bad certificate exits 2 before listening; SIGHUP reloads the files', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  await ensureBuilt();
  const dir = t.testdir();
  const first = makeCertificate(dir, 'first', { cn: 'first' });
  const second = makeCertificate(dir, 'second', { cn: 'second' });
  const live: CertFiles = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const file = join(dir, 'tls.yaml');
  writeFileSync(
    file,
    `listen: { host: 127.0.0.1, port: ${port}, tls: { cert: ${live.cert}, key: ${live.key} } }\nadmin: { host: 127.0.0.1, port: 0, token: "${TEST_TOKEN}" }\nstate: { store: memory }\nupstreams:\n  blue: { targets: ["http://127.0.0.1:1"] }\n  green: { targets: ["http://127.0.0.1:1"] }\n`,
  );
  const serve = () => {
    const child = spawn(process.execPath, ['dist/cli.js', 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => child.kill('SIGKILL'));
    let out = '';
    child.stderr.on('data', (d) => (out += d));
    const lines: string[] = [];
    createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
    return { child, out: () => out, lines };
  };

  const bad = serve(); // the files do not exist yet
  const code = await new Promise<number | null>((r) => bad.child.once('exit', r));
  t.equal(code, 2, 'exit 2: a config error');
  t.match(bad.out(), `${file}: invalid TLS certificates\n  listen.tls.cert: ${live.cert}: cannot be read (ENOENT)\n  listen.tls.key: ${live.key}: cannot be read (ENOENT)`);

  copyFileSync(first.cert, live.cert);
  copyFileSync(first.key, live.key);
  const good = serve();
  await waitFor(() => good.lines.some((l) => l.includes(`proxy https://127.0.0.1:${port}`)), 'the log line', 10_000);
  const url = `https://127.0.0.1:${port}`;
  t.equal((await servedCn(url)).cn, 'first');
  copyFileSync(second.cert, live.cert);
  copyFileSync(second.key, live.key);
  good.child.kill('SIGHUP');
  await waitFor(() => good.lines.some((l) => l.includes('certificates reloaded')), 'the log line', 10_000);
  t.equal((await servedCn(url)).cn, 'second', 'SIGHUP installed the new pair');
  writeFileSync(live.key, 'garbage');
  good.child.kill('SIGHUP');
  await waitFor(() => good.lines.some((l) => l.includes('kept the certificates in force')), 'the log line', 10_000);
  t.equal((await servedCn(url)).cn, 'second', 'a bad pair is refused with a log line; the old stays');
  t.equal(good.child.exitCode, null, 'still running');
});
