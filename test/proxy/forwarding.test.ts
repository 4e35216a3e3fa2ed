// Forwarding rules (CONTRACT §3, PITFALLS.md): what the client got and what the upstream saw.
import t from 'tap';
import { request } from 'undici';
import { startUpstream } from '../helpers/upstream.ts';
import { defaultRouting, startProxy } from '../helpers/proxy.ts';
import { rawExchange as raw } from '../helpers/raw-http.ts';

t.test('method, path, query and body verbatim; Host preserved; x-forwarded-* set', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  const proxy = await startProxy(t, { blue: [blue.url], green: [green.url] });
  const res = await request(`${proxy.url}/a/b%20c?x=1&y=%2F&x=2`, {
    method: 'PATCH',
    headers: { host: 'shop.example.com', 'content-type': 'text/plain', 'x-custom': 'kept' },
    body: 'hello body',
  });
  t.equal(res.statusCode, 200);
  t.same(await res.body.json(), { name: 'blue', path: '/a/b%20c?x=1&y=%2F&x=2' });
  t.equal(res.headers['x-turnout-colour'], 'blue');
  t.equal(blue.seen.length, 1);
  t.equal(green.seen.length, 0);
  const seen = blue.seen[0]!;
  t.equal(seen.method, 'PATCH');
  t.equal(seen.url, '/a/b%20c?x=1&y=%2F&x=2');
  t.equal(seen.body, 'hello body');
  t.equal(seen.headers.host, 'shop.example.com');
  t.equal(seen.headers['x-custom'], 'kept');
  t.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  t.equal(seen.headers['x-forwarded-proto'], 'http');
  t.equal(seen.headers['x-forwarded-host'], 'shop.example.com');
});

t.test('a client cannot spoof x-forwarded-*; a trusted proxy is appended to', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const untrusted = await startProxy(t, { blue: [blue.url], green: [blue.url] });
  await (await request(untrusted.url, { headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil', forwarded: 'for=6.6.6.6' } })).body.dump();
  t.equal(blue.seen[0]!.headers['x-forwarded-for'], '127.0.0.1');
  t.equal(blue.seen[0]!.headers['x-forwarded-proto'], 'http');
  t.equal(blue.seen[0]!.headers['x-forwarded-host'], '127.0.0.1:' + untrusted.port, 'the Host it sent, not the claimed one');
  t.equal(blue.seen[0]!.headers.forwarded, undefined);

  const trusted = await startProxy(t, { blue: [blue.url], green: [blue.url], proxy: { trustedProxies: ['127.0.0.1'] } });
  await (await request(trusted.url, { headers: { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop' } })).body.dump();
  t.equal(blue.seen[1]!.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
  t.equal(blue.seen[1]!.headers['x-forwarded-proto'], 'https');
  t.equal(blue.seen[1]!.headers['x-forwarded-host'], 'shop');
});

t.test('hop-by-hop request headers are stripped (RFC 9110 §7.6.1)', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const proxy = await startProxy(t, { blue: [blue.url], green: [blue.url] });
  const answer = await raw(
    proxy.port,
    'GET /hop HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s3cret\r\nKeep-Alive: timeout=5\r\n' +
      'TE: gzip\r\nProxy-Connection: keep-alive\r\nUpgrade: h2c\r\nX-Kept: yes\r\n\r\n',
    500,
  );
  t.match(answer, /^HTTP\/1\.1 200/);
  const h = blue.seen[0]!.headers;
  for (const name of ['x-secret', 'keep-alive', 'te', 'proxy-connection', 'upgrade']) t.equal(h[name], undefined, `${name} not forwarded`);
  t.equal(h['x-kept'], 'yes');
});

t.test('hop-by-hop response headers are stripped', async (t) => {
  const blue = await startUpstream(t, 'blue');
  blue.handle((_req, res) => {
    res.writeHead(200, { connection: 'X-Secret', 'x-secret': 'leak', 'keep-alive': 'timeout=99', 'proxy-connection': 'x', 'x-public': 'ok', 'content-length': '2' });
    res.end('ok');
  });
  const proxy = await startProxy(t, { blue: [blue.url], green: [blue.url] });
  const res = await request(proxy.url);
  t.equal(await res.body.text(), 'ok');
  t.equal(res.headers['x-secret'], undefined);
  t.equal(res.headers['proxy-connection'], undefined);
  t.not(res.headers['keep-alive'], 'timeout=99');
  t.equal(res.headers['x-public'], 'ok');
});

t.test('Expect: 100-continue is answered here and not forwarded', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const proxy = await startProxy(t, { blue: [blue.url], green: [blue.url] });
  const answer = await raw(proxy.port, 'POST /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n', 300);
  t.match(answer, /^HTTP\/1\.1 100 Continue/);
  const full = await raw(proxy.port, 'POST /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello');
  t.match(full, /HTTP\/1\.1 200 OK/);
  const last = blue.seen.at(-1)!;
  t.equal(last.body, 'hello');
  t.equal(last.headers.expect, undefined);
});

t.test('sticky cookie: minted with the configured name and attributes, then honoured', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  const proxy = await startProxy(t, { blue: [blue.url], green: [green.url], weight: 50, routing: { sticky: { by: 'cookie', cookie: 'my_id', header: 'x-user-id' } } });
  const first = await request(proxy.url);
  await first.body.dump();
  const setCookie = String(first.headers['set-cookie']);
  t.match(setCookie, /^my_id=[0-9a-f-]{36}; Path=\/; HttpOnly; SameSite=Lax$/);
  const cookie = setCookie.split(';')[0]!;
  const colour = first.headers['x-turnout-colour'];
  for (let i = 0; i < 20; i++) {
    const res = await request(proxy.url, { headers: { cookie: `other=1; ${cookie}` } });
    await res.body.dump();
    t.equal(res.headers['x-turnout-colour'], colour);
    t.equal(res.headers['set-cookie'], undefined);
  }
  t.equal(blue.seen.length + green.seen.length, 21);
});

t.test('sticky by header, ip and none', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  const byHeader = await startProxy(t, { blue: [blue.url], green: [green.url], weight: 50, routing: { sticky: { by: 'header', cookie: 'c', header: 'x-user-id' } } });
  const colours = new Set<string>();
  for (let i = 0; i < 10; i++) {
    const res = await request(byHeader.url, { headers: { 'x-user-id': 'alice' } });
    await res.body.dump();
    colours.add(String(res.headers['x-turnout-colour']));
    t.equal(res.headers['set-cookie'], undefined, 'no cookie when sticky by header');
  }
  t.equal(colours.size, 1, 'one user, one colour');

  const byIp = await startProxy(t, { blue: [blue.url], green: [green.url], weight: 50, routing: { sticky: { by: 'ip', cookie: 'c', header: 'h' } } });
  colours.clear();
  for (let i = 0; i < 10; i++) {
    const res = await request(byIp.url);
    await res.body.dump();
    colours.add(String(res.headers['x-turnout-colour']));
  }
  t.equal(colours.size, 1, 'one address, one colour');

  const byNone = await startProxy(t, { blue: [blue.url], green: [green.url], weight: 50, routing: { sticky: { by: 'none', cookie: 'c', header: 'h' } } });
  colours.clear();
  for (let i = 0; i < 60 && colours.size < 2; i++) {
    const res = await request(byNone.url);
    await res.body.dump();
    colours.add(String(res.headers['x-turnout-colour']));
  }
  t.equal(colours.size, 2, 'random draws reach both colours');
});

t.test('overrides by header and cookie; exposeColourHeader off', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  const proxy = await startProxy(t, { blue: [blue.url], green: [green.url], weight: 0 });
  const table: [Record<string, string>, string][] = [
    [{ 'x-turnout-colour': 'green' }, 'green'],
    [{ 'x-turnout-colour': 'canary' }, 'green'],
    [{ 'x-turnout-colour': 'stable' }, 'blue'],
    [{ cookie: 'turnout_colour=green' }, 'green'],
    [{ 'x-turnout-colour': 'blue', cookie: 'turnout_colour=green' }, 'blue'],
    [{ 'x-turnout-colour': 'nonsense' }, 'blue'],
  ];
  for (const [headers, want] of table) {
    const res = await request(proxy.url, { headers });
    const body = (await res.body.json()) as { name: string };
    t.equal(body.name, want, JSON.stringify(headers));
  }
  const quiet = await startProxy(t, { blue: [blue.url], green: [green.url], routing: { exposeColourHeader: false, override: { ...defaultRouting.override, enabled: false } } });
  const res = await request(quiet.url, { headers: { 'x-turnout-colour': 'green' } });
  t.same(await res.body.json(), { name: 'blue', path: '/' }, 'override disabled');
  t.equal(res.headers['x-turnout-colour'], undefined);
});

t.test('preview listener always serves the idle colour', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  const preview = await startProxy(t, { blue: [blue.url], green: [green.url], role: 'preview' });
  for (const headers of [{}, { 'x-turnout-colour': 'blue' }, { cookie: 'turnout_colour=stable' }]) {
    const res = await request(preview.url, { headers });
    t.equal(((await res.body.json()) as { name: string }).name, 'green');
    t.equal(res.headers['set-cookie'], undefined, 'preview mints no sticky cookie');
  }
  preview.setState({ active: 'green', weight: 0 });
  const res = await request(preview.url);
  t.equal(((await res.body.json()) as { name: string }).name, 'blue', 'follows a flip');
});

t.test('round robin over a colour’s targets', async (t) => {
  const a = await startUpstream(t, 'a');
  const b = await startUpstream(t, 'b');
  const c = await startUpstream(t, 'c');
  const proxy = await startProxy(t, { blue: [a.url, b.url, c.url], green: [a.url] });
  for (let i = 0; i < 30; i++) await (await request(proxy.url)).body.dump();
  t.same([a.seen.length, b.seen.length, c.seen.length], [10, 10, 10]);
});

t.test('split through the proxy at 8% lands near 8%', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  const proxy = await startProxy(t, { blue: [blue.url], green: [green.url], weight: 8, routing: { sticky: { by: 'header', cookie: 'c', header: 'x-user-id' } } });
  const n = 2000;
  for (let i = 0; i < n; i += 50) {
    await Promise.all(Array.from({ length: 50 }, async (_, j) => (await request(proxy.url, { headers: { 'x-user-id': `u${i + j}` } })).body.dump()));
  }
  const share = green.seen.length / n;
  t.ok(share > 0.06 && share < 0.1, `green share ${share}`);
  t.equal(blue.seen.length + green.seen.length, n);
});
