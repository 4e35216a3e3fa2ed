// POST /api/v1/override-links on the whole app: validation naming the field, 409 without a
// secret, and a minted value that really routes to its colour through the proxy.
import t from 'tap';
import { request } from 'undici';
import { startApp } from '../helpers/app.ts';
import { startUpstream } from '../helpers/upstream.ts';

const SECRET = 'override-secret-0123456789abcdef-xyz';

async function app(t: { teardown(fn: () => unknown): void }, override: Record<string, unknown>, now = 1_800_000_000_000) {
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  const clock = { now: () => now };
  const running = await startApp(
    t,
    { upstreams: { blue: { targets: [blue.url] }, green: { targets: [green.url] } }, routing: { override } },
    { background: false, clock },
  );
  return { running, blue, green };
}

t.test('mints a signed value: cookie, header, link; it routes to the colour from a client allowFrom excludes', async (t) => {
  const { running } = await app(t, { allowFrom: ['10.0.0.0/8'], secret: SECRET });
  const res = await running.api('/api/v1/override-links', { method: 'POST', body: JSON.stringify({ colour: 'green', ttlSeconds: 600, next: '/shop', baseUrl: 'https://shop.example.com' }) });
  t.equal(res.status, 201);
  const body = (await res.json()) as Record<string, any>;
  t.equal(body.colour, 'green');
  t.equal(body.expiresAt, new Date(1_800_000_000_000 + 600_000).toISOString());
  t.match(body.token, /^v1\.green\.1800000600\./);
  t.same(body.cookie, { name: 'turnout_colour', value: body.token, setCookie: `turnout_colour=${body.token}; Path=/; Max-Age=600; HttpOnly; SameSite=Lax` });
  t.same(body.header, { name: 'x-turnout-colour', value: body.token });
  t.equal(body.path, `/.well-known/turnout/override?token=${body.token}&next=%2Fshop`);
  t.equal(body.link, `https://shop.example.com${body.path}`);

  // The proxy: plain `green` is ignored from 127.0.0.1, the minted value is not.
  const plain = await request(running.proxy, { headers: { 'x-turnout-colour': 'green' } });
  t.equal(((await plain.body.json()) as { name: string }).name, 'blue');
  const signed = await request(running.proxy, { headers: { cookie: `turnout_colour=${body.token}` } });
  t.equal(((await signed.body.json()) as { name: string }).name, 'green');
  const link = await request(running.proxy + body.path);
  t.equal(link.statusCode, 303);
  t.equal(link.headers.location, '/shop');
  await link.body.dump();
});

t.test('invalid bodies get 400 naming the field and mint nothing', async (t) => {
  const { running } = await app(t, { secret: SECRET });
  const table: [unknown, RegExp][] = [
    [{}, /body\.colour is required/],
    [{ colour: 'purple' }, /body\.colour must be equal to one of the allowed values/],
    [{ colour: 'green', ttlSeconds: '600' }, /body\.ttlSeconds must be an integer/],
    [{ colour: 'green', ttlSeconds: 10 }, /body\.ttlSeconds must be >= 60/],
    [{ colour: 'green', ttlSeconds: 604801 }, /body\.ttlSeconds must be <= 604800/],
    [{ colour: 'green', next: '//evil.example' }, /body\.next must match pattern/],
    [{ colour: 'green', next: 'shop' }, /body\.next must match pattern/],
    [{ colour: 'green', baseUrl: 'javascript:alert(1)' }, /body\.baseUrl must match pattern/],
    [{ colour: 'green', baseUrl: 'https://shop.example.com/path' }, /body\.baseUrl must match pattern/],
    [{ colour: 'green', extra: 1 }, /body\.extra is not allowed/],
  ];
  for (const [input, message] of table) {
    const res = await running.api('/api/v1/override-links', { method: 'POST', body: JSON.stringify(input) });
    t.equal(res.status, 400, JSON.stringify(input));
    t.match(((await res.json()) as { message: string }).message, message, JSON.stringify(input));
  }
  const unauth = await fetch(`${running.admin}/api/v1/override-links`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"colour":"green"}' });
  t.equal(unauth.status, 401, 'behind the bearer token like every /api route');
});

t.test('without routing.override.secret the route answers 409', async (t) => {
  const { running } = await app(t, {});
  const res = await running.api('/api/v1/override-links', { method: 'POST', body: JSON.stringify({ colour: 'green' }) });
  t.equal(res.status, 409);
  t.match(((await res.json()) as { message: string }).message, /routing\.override\.secret/);
});
