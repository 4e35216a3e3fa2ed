// Who may pick a colour (issue 12, item 7): routing.override.allowFrom, signed override values
// and the link that sets them, preview.allowFrom. What the client got and which upstream saw it.
import t from 'tap';
import { request } from 'undici';
import { defaultRouting, startProxy } from '../helpers/proxy.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { rawExchange as raw } from '../helpers/raw-http.ts';
import { signOverride } from '../../src/routing/override-token.ts';

const SECRET = 'override-secret-0123456789abcdef-xyz';

async function colours(t: { teardown(fn: () => unknown): void }) {
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  return { blue, green };
}

async function whoAnswers(url: string, headers: Record<string, string>): Promise<string> {
  const res = await request(url, { headers });
  return ((await res.body.json()) as { name: string }).name;
}

t.test('routing.override.allowFrom: plain override values count only from listed clients', async (t) => {
  const { blue, green } = await colours(t);
  const closed = await startProxy(t, { blue: [blue.url], green: [green.url], routing: { override: { ...defaultRouting.override, allowFrom: ['10.0.0.0/8'] } } });
  t.equal(await whoAnswers(closed.url, { 'x-turnout-colour': 'green' }), 'blue', 'header ignored from 127.0.0.1');
  t.equal(await whoAnswers(closed.url, { cookie: 'turnout_colour=green' }), 'blue', 'cookie ignored from 127.0.0.1');

  const open = await startProxy(t, { blue: [blue.url], green: [green.url], routing: { override: { ...defaultRouting.override, allowFrom: ['127.0.0.0/8'] } } });
  t.equal(await whoAnswers(open.url, { 'x-turnout-colour': 'green' }), 'green', 'header honoured from 127.0.0.1');

  // Behind a trusted load balancer, the real client (from x-forwarded-for) counts.
  const behind = await startProxy(t, {
    blue: [blue.url],
    green: [green.url],
    proxy: { trustedProxies: ['127.0.0.1'] },
    routing: { override: { ...defaultRouting.override, allowFrom: ['10.0.0.0/8'] } },
  });
  t.equal(await whoAnswers(behind.url, { 'x-turnout-colour': 'green', 'x-forwarded-for': '10.1.2.3' }), 'green', 'an office client behind the LB');
  t.equal(await whoAnswers(behind.url, { 'x-turnout-colour': 'green', 'x-forwarded-for': '203.0.113.7' }), 'blue', 'an outside client behind the LB');
});

t.test('a signed override value is honoured from any client until it expires', async (t) => {
  const { blue, green } = await colours(t);
  let now = 1_800_000_000_000;
  const proxy = await startProxy(t, {
    blue: [blue.url],
    green: [green.url],
    clock: { now: () => now },
    routing: { override: { ...defaultRouting.override, allowFrom: ['10.0.0.0/8'], secret: SECRET } },
  });
  const token = signOverride('green', now / 1000 + 60, SECRET);
  t.equal(await whoAnswers(proxy.url, { 'x-turnout-colour': 'green' }), 'blue', 'plain value: not from here');
  t.equal(await whoAnswers(proxy.url, { cookie: `turnout_colour=${token}` }), 'green', 'signed cookie');
  t.equal(await whoAnswers(proxy.url, { 'x-turnout-colour': token }), 'green', 'signed header');
  t.equal(await whoAnswers(proxy.url, { cookie: `turnout_colour=${signOverride('green', now / 1000 + 60, 'x'.repeat(32))}` }), 'blue', 'signed with another secret');
  now += 60_000;
  t.equal(await whoAnswers(proxy.url, { cookie: `turnout_colour=${token}` }), 'blue', 'expired');
});

t.test('the override link sets the cookie and redirects to a local path', async (t) => {
  const { blue, green } = await colours(t);
  const now = 1_800_000_000_000;
  const proxy = await startProxy(t, {
    blue: [blue.url],
    green: [green.url],
    clock: { now: () => now },
    routing: { override: { ...defaultRouting.override, allowFrom: ['10.0.0.0/8'], secret: SECRET } },
  });
  const token = signOverride('green', now / 1000 + 600, SECRET);
  const ok = await raw(proxy.port, `GET /.well-known/turnout/override?token=${token}&next=%2Fshop%3Fa%3D1 HTTP/1.1\r\nHost: shop\r\n\r\n`, 300);
  t.match(ok, /^HTTP\/1\.1 303/);
  t.match(ok, /\r\nlocation: \/shop\?a=1\r\n/i);
  t.match(ok, new RegExp(`\\r\\nset-cookie: turnout_colour=${token.replace(/[.]/g, '\\.')}; Path=/; Max-Age=600; HttpOnly; SameSite=Lax\\r\\n`, 'i'));
  const redirect = await raw(proxy.port, `GET /.well-known/turnout/override?token=${token}&next=//evil.example HTTP/1.1\r\nHost: shop\r\n\r\n`, 300);
  t.match(redirect, /\r\nlocation: \/\r\n/i, 'never an open redirect');
  const bad = await raw(proxy.port, `GET /.well-known/turnout/override?token=v1.green.1.x HTTP/1.1\r\nHost: shop\r\n\r\n`, 300);
  t.match(bad, /^HTTP\/1\.1 400/);
  t.match(bad, /invalid or expired override link/);
  t.notMatch(bad, /set-cookie/i);
  t.equal(blue.seen.length + green.seen.length, 0, 'the link path is Turnout\'s own');

  // Without a secret the path is the application's, proxied like any other.
  const plain = await startProxy(t, { blue: [blue.url], green: [green.url] });
  const passed = await raw(plain.port, `GET /.well-known/turnout/override?token=x HTTP/1.1\r\nHost: shop\r\n\r\n`, 300);
  t.match(passed, /^HTTP\/1\.1 200/);
  t.equal(blue.seen.length, 1);
});

t.test('preview.allowFrom: other clients get 403 and reach no upstream', async (t) => {
  const { blue, green } = await colours(t);
  const closed = await startProxy(t, { blue: [blue.url], green: [green.url], role: 'preview', allowFrom: ['10.0.0.0/8'] });
  const res = await request(closed.url);
  t.equal(res.statusCode, 403);
  t.match(await res.body.json(), { statusCode: 403, error: 'Forbidden', message: 'this client may not use the preview listener' });
  t.equal(blue.seen.length + green.seen.length, 0);
  t.same(closed.recorded, [], 'not an upstream attempt');

  const open = await startProxy(t, { blue: [blue.url], green: [green.url], role: 'preview', allowFrom: ['127.0.0.1'] });
  t.equal(await whoAnswers(open.url, {}), 'green', 'an allowed client reaches the idle colour');
});
