// hasDotSegment and isValidHost by table (pure).
import t from 'tap';
import { hasDotSegment } from '../../src/proxy/paths.ts';
import { isValidHost } from '../../src/proxy/headers.ts';

t.test('hasDotSegment', async (t) => {
  const table: [string, boolean][] = [
    ['/', false],
    ['/a/b', false],
    ['/app.js', false],
    ['/a/...', false],
    ['/a..b', false],
    ['/.well-known/x', false],
    ['/a/.hidden', false],
    ['/a;b/c', false],
    ['/a/%252e%252e/b', false],
    ['/a?x=/../', false],
    ['/a%2fb', false],
    ['/..', true],
    ['/.', true],
    ['/a/../b', true],
    ['/a/./b', true],
    ['/%2e%2e/b', true],
    ['/%2E./b', true],
    ['/.%2e', true],
    ['/a/..%2fb', true],
    ['/a/..%2Fb', true],
    ['/a/%2e%2e%2fb', true],
    ['/a/..%5cb', true],
    ['/a/..\\b', true],
    ['/a\\.\\b', true],
    ['/a/..;/b', true],
    ['/a/..;jsessionid=1/b', true],
    ['/a/.;/b', true],
    ['/a/..?q', true],
    ['/a/%2e', true],
    ['/a/%2', false],
  ];
  for (const [url, want] of table) t.equal(hasDotSegment(url), want, url);
});

t.test('isValidHost', async (t) => {
  const table: [string, boolean][] = [
    ['example.com', true],
    ['example.com:8080', true],
    ['EXAMPLE.com', true],
    ['a:', true],
    ['127.0.0.1', true],
    ['[::1]', true],
    ['[::1]:80', true],
    ['[2001:db8::1]:443', true],
    ['[v1.fe80::a+en1]', true],
    ['a_b', true],
    ['caf%C3%A9.example', true],
    ['', false],
    [' ', false],
    ['a b', false],
    ['a/b', false],
    ['a@b', false],
    ['a:1:2', false],
    ['a:80x', false],
    ['[::1', false],
    ['[::1]x', false],
    ['[::1]:x', false],
    ['[a.b]', false],
    ['::1', false],
    ['a%zz', false],
    ['a\\b', false],
    ['a#b', false],
    ['a?b', false],
    ['x'.repeat(1025), false],
  ];
  for (const [host, want] of table) t.equal(isValidHost(host), want, JSON.stringify(host));
});
