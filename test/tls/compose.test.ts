// The container's TLS edge (issue 16, item 4): docker-compose.yml's `turnout-tls` service mounts a
// certificate directory read-only where config/turnout.compose-tls.yaml looks for its files, and
// that config, with the mount pointed at a directory of test certificates, is a working TLS + h2
// edge (proxy and preview) that also counts its requests. No container runtime needed: the
// compose file is read as YAML, the config goes through the real loader and app.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import YAML from 'yaml';
import { parseConfig } from '../../src/config/load.ts';
import { startApp } from '../helpers/app.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { h2Connect, h2Request, hasTool, makeCertificate } from '../helpers/tls.ts';

const root = new URL('../../', import.meta.url);
const composeFile = new URL('docker-compose.yml', root).pathname;
const configFile = new URL('config/turnout.compose-tls.yaml', root).pathname;

t.test('docker-compose mounts the certificate directory the TLS config reads', async (t) => {
  const compose = YAML.parse(readFileSync(composeFile, 'utf8')) as { services: Record<string, { volumes?: string[]; command?: string[]; ports?: string[] }> };
  const service = compose.services['turnout-tls'];
  t.ok(service, 'a turnout-tls service');
  const raw = YAML.parse(readFileSync(configFile, 'utf8')) as Record<string, { tls?: { cert: string; key: string } }>;
  const config = parseConfig(raw, configFile, { TURNOUT_ADMIN_TOKEN: 'compose-test-token-0123456789' });
  t.ok(config.listen.tls, 'listen.tls is set');
  t.equal(config.listen.http2, true, 'h2 on the edge');
  const certDir = dirname(config.listen.tls!.cert);
  const mount = service!.volumes!.find((v) => v.split(':')[1] === certDir);
  t.ok(mount, `a volume is mounted at ${certDir}`);
  t.equal(mount!.split(':')[0], './certs', 'from ./certs (the README generates it with openssl)');
  t.equal(mount!.split(':')[2], 'ro', 'read-only');
  for (const field of ['listen', 'preview'] as const) {
    const tls = config[field]!.tls!;
    t.equal(dirname(tls.cert), certDir, `${field}.tls.cert is in the mount`);
    t.equal(dirname(tls.key), certDir, `${field}.tls.key is in the mount`);
  }
  t.ok(service!.command!.includes('/app/config/turnout.compose-tls.yaml'), 'the service runs that config');
  t.ok(service!.ports!.some((p) => p.endsWith(':8443')), 'port 8443 published');
});

t.test('that config, its mount pointed at test certificates, serves h2 on the proxy and the preview', async (t) => {
  if (!hasTool(t, 'openssl', 'openssl')) return;
  const dir = t.testdir();
  const pair = makeCertificate(dir, 'tls');
  const raw = YAML.parse(readFileSync(configFile, 'utf8')) as Record<string, Record<string, unknown>>;
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  const app = await startApp(t, {
    ...raw,
    listen: { ...raw.listen, host: '127.0.0.1', port: 0, tls: pair },
    preview: { ...raw.preview, host: '127.0.0.1', port: 0, tls: pair },
    admin: { host: '127.0.0.1', port: 0, token: 'compose-test-token-0123456789' },
    state: { store: 'memory' },
    upstreams: { blue: { targets: [blue.url] }, green: { targets: [green.url] } },
  });
  const main = await h2Request(h2Connect(t, app.proxy), { ':path': '/edge' });
  t.equal(main.status, 200);
  t.equal(main.headers['x-turnout-colour'], 'blue', 'the active colour over h2');
  const preview = await h2Request(h2Connect(t, app.preview!), { ':path': '/preview' });
  t.equal(preview.headers['x-turnout-colour'], 'green', 'the preview reaches the idle colour over h2');
  t.equal(blue.seen.at(-1)!.headers['x-forwarded-proto'], 'https');
  const metrics = await (await app.api('/metrics')).text();
  t.match(metrics, /turnout_requests_total\{[^}]*colour="blue"[^}]*\} [1-9]/, 'h2 requests are recorded like any other');
});
