// The admin Host allow-list by table (pure), and on a real admin listener.
import t from 'tap';
import http from 'node:http';
import { hostAllowList, hostName } from '../../src/admin/host-allow-list.ts';
import { startApp } from '../helpers/app.ts';
import { startUpstream } from '../helpers/upstream.ts';

t.test('hostName', async (t) => {
  const table: [string, string][] = [
    ['Example.COM:9901', 'example.com'],
    ['[::1]:9901', '::1'],
    ['[::1]', '::1'],
    ['127.0.0.1:80', '127.0.0.1'],
    ['turnout.internal.', 'turnout.internal'],
  ];
  for (const [value, want] of table) t.equal(hostName(value), want, value);
});

t.test('hostAllowList', async (t) => {
  const defaults = hostAllowList({ allowed: [], adminHost: '127.0.0.1' });
  const configured = hostAllowList({ allowed: ['turnout.internal', '*.monitoring.svc'], adminHost: 'admin.example' });
  const open = hostAllowList({ allowed: ['*'], adminHost: '127.0.0.1' });
  const table: [string, (h: string | undefined) => boolean, string | undefined, boolean][] = [
    ['IPv4 literal', defaults, '127.0.0.1:9901', true],
    ['another IPv4 literal', defaults, '10.0.0.5:9901', true],
    ['IPv6 literal', defaults, '[::1]:9901', true],
    ['localhost', defaults, 'localhost:9901', true],
    ['LOCALHOST', defaults, 'LOCALHOST', true],
    ['*.localhost', defaults, 'dash.localhost:9901', true],
    ['no Host (HTTP/1.0 tool)', defaults, undefined, true],
    ['a rebinding name', defaults, 'evil.example:9901', false],
    ['localhost as a suffix of another name', defaults, 'evil-localhost', false],
    ['localhost.evil.example', defaults, 'localhost.evil.example', false],
    ['admin.host', configured, 'admin.example:9901', true],
    ['listed name', configured, 'turnout.internal:9901', true],
    ['listed name, trailing dot', configured, 'turnout.internal.', true],
    ['wildcard', configured, 'prometheus.monitoring.svc', true],
    ['wildcard does not match the bare name', configured, 'monitoring.svc', false],
    ['unlisted', configured, 'evil.example', false],
    ['* allows all', open, 'evil.example', true],
  ];
  for (const [name, allow, host, want] of table) t.equal(allow(host), want, name);
});

function get(url: string, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, { headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('the admin listener answers only allowed Hosts: /metrics is unreadable by a DNS-rebinding page', async (t) => {
  const up = await startUpstream(t, 'blue');
  const running = await startApp(t, { upstreams: { blue: { targets: [up.url] }, green: { targets: [up.url] } }, admin: { host: '127.0.0.1', port: 0, token: 'test-token-0123456789abcdef', allowedHosts: ['turnout.internal'] } }, { background: false });
  const port = new URL(running.admin).port;
  for (const path of ['/metrics', '/', '/healthz', '/api/v1/state']) {
    const evil = await get(running.admin, path, `evil.example:${port}`);
    t.equal(evil.status, 403, `${path} from a rebinding page`);
    t.match(evil.body, /"error":"Forbidden"/);
    t.notMatch(evil.body, /turnout_/, 'no metric leaks');
  }
  t.equal((await get(running.admin, '/metrics', `127.0.0.1:${port}`)).status, 200);
  t.equal((await get(running.admin, '/metrics', `localhost:${port}`)).status, 200);
  t.equal((await get(running.admin, '/metrics', `turnout.internal:${port}`)).status, 200, 'admin.allowedHosts');
});
