// Response header forwarding as a pure function: hop-by-hop fields (RFC 9110 §7.6.1) dropped in
// any letter case, fields a Connection header names dropped, everything else kept in order.
import t from 'tap';
import { forwardParsedResponseHeaders, forwardResponseHeaders } from '../../src/proxy/headers.ts';

const raw = (...pairs: string[]) => pairs.map((s) => Buffer.from(s, 'latin1'));

t.test('forwardResponseHeaders table', async (t) => {
  const table: [string, string[], string[]][] = [
    ['plain fields pass in order', ['content-type', 'text/plain', 'Content-Length', '3', 'Date', 'x'], ['content-type', 'text/plain', 'Content-Length', '3', 'Date', 'x']],
    ['Connection: keep-alive and Keep-Alive dropped', ['Connection', 'keep-alive', 'Keep-Alive', 'timeout=5', 'a', '1'], ['a', '1']],
    ['CONNECTION: Close dropped', ['CONNECTION', 'Close', 'a', '1'], ['a', '1']],
    ['every hop-by-hop name, mixed case', ['TE', 'trailers', 'Expect', '100-continue', 'Trailer', 'x', 'UPGRADE', 'h2c', 'Proxy-Connection', 'close', 'Transfer-Encoding', 'chunked', 'b', '2'], ['b', '2']],
    ['fields the Connection header names dropped', ['X-Hop', '1', 'Connection', 'keep-alive, X-Hop', 'x-keep', '2'], ['x-keep', '2']],
    ['two Connection headers: both lists count', ['Connection', 'X-A', 'x-a', '1', 'Connection', 'x-b', 'X-B', '2', 'c', '3'], ['c', '3']],
    ['same-length names that are not hop-by-hop kept', ['tf', '1', 'expecT-', '2', 'trailers', '3', 'connectioN', 'close', 'connexion', '4', 'keep-alivf', '5'], ['tf', '1', 'expecT-', '2', 'trailers', '3', 'connexion', '4', 'keep-alivf', '5']],
    ['latin1 values kept byte for byte', ['x-v', 'caf\u00e9'], ['x-v', 'caf\u00e9']],
  ];
  for (const [name, input, want] of table) t.same(forwardResponseHeaders(raw(...input)), want, name);
});

t.test('forwardParsedResponseHeaders table (undici-parsed headers: lower-case names, repeats as arrays)', async (t) => {
  const table: [string, Record<string, string | string[]>, string[]][] = [
    ['plain fields pass in order', { 'content-type': 'text/plain', 'content-length': '3', date: 'x' }, ['content-type', 'text/plain', 'content-length', '3', 'date', 'x']],
    ['Connection: keep-alive and Keep-Alive dropped', { connection: 'keep-alive', 'keep-alive': 'timeout=5', a: '1' }, ['a', '1']],
    ['Connection: Close dropped', { connection: 'Close', a: '1' }, ['a', '1']],
    ['every hop-by-hop name', { te: 'trailers', expect: '100-continue', trailer: 'x', upgrade: 'h2c', 'proxy-connection': 'close', 'transfer-encoding': 'chunked', b: '2' }, ['b', '2']],
    ['fields the Connection header names dropped', { 'x-hop': '1', connection: 'keep-alive, X-Hop', 'x-keep': '2' }, ['x-keep', '2']],
    ['two Connection headers: both lists count', { connection: ['X-A', 'x-b'], 'x-a': '1', 'x-b': '2', c: '3' }, ['c', '3']],
    ['repeated fields each sent, in order', { 'set-cookie': ['a=1', 'b=2'], vary: ['accept', 'cookie'] }, ['set-cookie', 'a=1', 'set-cookie', 'b=2', 'vary', 'accept', 'vary', 'cookie']],
    ['latin1 values kept', { 'x-v': 'caf\u00e9' }, ['x-v', 'caf\u00e9']],
  ];
  for (const [name, input, want] of table) t.same(forwardParsedResponseHeaders(input), want, name);
});
