// Bodies stream both ways: 100 MB up and 100 MB down with bounded memory (CONTRACT §3).
import t from 'tap';
import { Readable } from 'node:stream';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { request } from 'undici';
import { startUpstream } from '../helpers/upstream.ts';

const MB = 1024 * 1024;
const SIZE = 100 * MB;
const chunk = Buffer.alloc(64 * 1024, 'x');

function generator(total: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      sent += chunk.length;
      this.push(chunk);
    },
  });
}

t.test('100 MB upload and download stream through with bounded RSS', async (t) => {
  const blue = await startUpstream(t, 'blue', { keepBody: false });
  blue.handle((req, res, seen) => {
    if (req.method === 'POST') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ received: seen.bodyBytes }));
    }
    res.writeHead(200, { 'content-length': String(SIZE) });
    generator(SIZE).pipe(res);
  });
  // The proxy runs in its own process so its RSS is measured alone (from /proc).
  const child = spawn(process.execPath, ['test/helpers/proxy-child.ts', blue.url], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  const proxy = { url: `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}` };
  const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024;
  await (await request(proxy.url, { method: 'POST', body: 'warm-up' })).body.dump(); // connections, JIT
  const before = rss();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rss())), 10);
  t.teardown(() => clearInterval(sampler));

  const up = await request(`${proxy.url}/upload`, { method: 'POST', body: generator(SIZE), headers: { 'content-type': 'application/octet-stream' } });
  t.same(await up.body.json(), { received: SIZE }, 'the upstream received every byte (chunked, streamed)');

  const down = await request(`${proxy.url}/download`);
  let received = 0;
  for await (const part of down.body) received += (part as Buffer).length;
  t.equal(received, SIZE, 'the client received every byte');
  clearInterval(sampler);
  const growth = (peak - before) / MB;
  t.ok(growth < 100, `RSS grew ${growth.toFixed(1)} MB`);
});
