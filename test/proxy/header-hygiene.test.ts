// Header hygiene (issue 12, item 6), in raw bytes: what the client got and what the upstream saw.
import t from 'tap';
import net from 'node:net';
import { startUpstream } from '../helpers/upstream.ts';
import { startProxy } from '../helpers/proxy.ts';
import { rawExchange as raw } from '../helpers/raw-http.ts';

t.test('request header names with "_" are dropped (nginx underscores_in_headers off)', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const proxy = await startProxy(t, { blue: [blue.url], green: [blue.url] });
  const answer = await raw(
    proxy.port,
    'POST /u HTTP/1.1\r\nHost: h\r\nX_Forwarded_For: 6.6.6.6\r\nTransfer_Encoding: chunked\r\nX_Api_Key: k\r\nContent-Length: 2\r\n\r\nhi',
    500,
  );
  t.match(answer, /^HTTP\/1\.1 200/);
  const seen = blue.seen[0]!;
  t.same(seen.rawHeaders.filter((_, i) => i % 2 === 0 && seen.rawHeaders[i]!.includes('_')), [], 'no underscore name reached the upstream');
  t.equal(seen.headers['x-forwarded-for'], '127.0.0.1', 'the only x-forwarded-for is ours');
  t.equal(seen.body, 'hi');

  const lax = await startProxy(t, { blue: [blue.url], green: [blue.url], proxy: { underscoresInHeaders: true } });
  await raw(lax.port, 'GET /u HTTP/1.1\r\nHost: h\r\nX_Api_Key: k\r\n\r\n', 500);
  t.equal(blue.seen[1]!.headers['x_api_key'], 'k', 'proxy.underscoresInHeaders: true forwards them');
});

t.test('Host is validated (RFC 9110 §7.2, RFC 9112 §3.2): 400 otherwise, and nothing reaches the upstream', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const proxy = await startProxy(t, { blue: [blue.url], green: [blue.url] });
  const refused: [string, string, RegExp][] = [
    ['HTTP/1.1 without Host (Node)', 'GET / HTTP/1.1\r\n\r\n', /^HTTP\/1\.1 400/],
    ['HTTP/1.0 without Host', 'GET / HTTP/1.0\r\n\r\n', /"message":"missing Host header"/],
    ['two Host lines', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', /"message":"more than one Host header"/],
    ['two Host lines, other case', 'GET / HTTP/1.1\r\nhost: a\r\nHOST: a\r\n\r\n', /"message":"more than one Host header"/],
    ['empty Host', 'GET / HTTP/1.1\r\nHost: \r\n\r\n', /"message":"invalid Host header"/],
    ['a space', 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n', /"message":"invalid Host header"/],
    ['a slash', 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n', /"message":"invalid Host header"/],
    ['userinfo', 'GET / HTTP/1.1\r\nHost: user@a\r\n\r\n', /"message":"invalid Host header"/],
    ['two colons', 'GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n', /"message":"invalid Host header"/],
    ['a non-numeric port', 'GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n', /"message":"invalid Host header"/],
    ['an unclosed IPv6 literal', 'GET / HTTP/1.1\r\nHost: [::1\r\n\r\n', /"message":"invalid Host header"/],
    ['a bracketed non-address', 'GET / HTTP/1.1\r\nHost: [a.b]\r\n\r\n', /"message":"invalid Host header"/],
    ['a bad percent escape', 'GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n', /"message":"invalid Host header"/],
  ];
  for (const [name, request, want] of refused) {
    const answer = await raw(proxy.port, request, 500);
    t.match(answer, /^HTTP\/1\.1 400/, name);
    t.match(answer, want, name);
  }
  t.equal(blue.seen.length, 0, 'none was forwarded');
  const accepted = ['shop.example.com', 'shop.example.com:8080', '127.0.0.1', '127.0.0.1:80', '[::1]', '[::1]:8443', 'xn--caf-dma.example', 'a_b.internal', 'a:', 'HOST.Example'];
  for (const host of accepted) {
    const answer = await raw(proxy.port, `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`, 300);
    t.match(answer, /^HTTP\/1\.1 200/, host);
    t.equal(blue.seen.at(-1)!.headers.host, host, `${host} forwarded verbatim`);
  }
  // HTTP/1.0 with a Host is fine.
  t.match(await raw(proxy.port, 'GET / HTTP/1.0\r\nHost: a\r\n\r\n', 300), /^HTTP\/1\.1 200/);
});

t.test('Connection cannot remove Host or the forwarding headers', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const proxy = await startProxy(t, { blue: [blue.url], green: [blue.url] });
  const answer = await raw(
    proxy.port,
    'GET /c HTTP/1.1\r\nHost: shop.example\r\nConnection: host, x-forwarded-for, x-forwarded-proto, x-forwarded-host, x-private\r\nX-Private: p\r\n\r\n',
    500,
  );
  t.match(answer, /^HTTP\/1\.1 200/);
  const h = blue.seen[0]!.headers;
  t.equal(h.host, 'shop.example', 'Host preserved, not the internal target address');
  t.equal(h['x-forwarded-for'], '127.0.0.1');
  t.equal(h['x-forwarded-proto'], 'http');
  t.equal(h['x-forwarded-host'], 'shop.example');
  t.equal(h['x-private'], undefined, 'an ordinary header Connection names is still removed (RFC 9110 §7.6.1)');
});

t.test('dot segments behind encodings, backslashes and path parameters are refused', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const proxy = await startProxy(t, { blue: [blue.url], green: [blue.url] });
  const refused = ['/a/..%2fetc/passwd', '/a/..%2Fetc', '/a/..;/admin', '/a/.;x/b', '/a/..\\admin', '/a\\..\\admin', '/a/%2e%2e%5cadmin', '/a/..%5Cadmin', '/..;', '/a/%2E%2e'];
  for (const path of refused) {
    const answer = await raw(proxy.port, `GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`, 300);
    t.match(answer, /^HTTP\/1\.1 400/, path);
  }
  t.equal(blue.seen.length, 0);
  const passed = ['/a/...', '/app.js', '/a;b/c', '/.well-known/x', '/a/%252e%252e/b', '/a..b/', '/a/.hidden'];
  for (const path of passed) {
    const answer = await raw(proxy.port, `GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`, 300);
    t.match(answer, /^HTTP\/1\.1 200/, path);
    t.equal(blue.seen.at(-1)!.url, path, `${path} forwarded verbatim`);
  }
});

t.test('Expect: 100-continue: answered by Turnout for its hop, the body streamed, the upstream answers once', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const proxy = await startProxy(t, { blue: [blue.url], green: [blue.url] });
  // The client waits for 100 before sending its body.
  const socket = net.connect(proxy.port, '127.0.0.1');
  let got = '';
  socket.setEncoding('latin1');
  const sawContinue = new Promise<void>((resolve) =>
    socket.on('data', (d: string) => {
      got += d;
      if (got.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) resolve();
    }),
  );
  socket.write('POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n');
  await sawContinue;
  const done = new Promise<void>((resolve) => socket.on('data', () => got.includes('"path":"/e"') && resolve()));
  socket.write('body');
  await done;
  socket.destroy();
  t.match(got, /HTTP\/1\.1 200/);
  t.equal(blue.seen[0]!.body, 'body');
  t.equal(blue.seen[0]!.headers.expect, undefined);
});
