// The multi-core Node baseline: node:cluster with N workers (default 2), each running the minimal
// undici proxy (undici-proxy.ts) on the cluster's shared port, as a Node user would scale it out.
// Usage: node bench/contenders/undici-cluster.ts <origin-url> [workers]; prints `LISTENING <port>`.
import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const origin = process.argv[2];
if (!origin) throw new Error('usage: undici-cluster.ts <origin-url> [workers]');
const n = Number(process.argv[3] ?? 2);
// The proxy script listens on port 0; in a cluster every worker's port 0 is one shared port.
cluster.setupPrimary({ exec: path.join(path.dirname(fileURLToPath(import.meta.url)), 'undici-proxy.ts'), args: [origin], silent: true });
let listening = 0;
for (let i = 0; i < n; i++) {
  const worker = cluster.fork();
  let out = '';
  worker.process.stdout!.on('data', (d: Buffer) => {
    out += d;
    const m = /LISTENING (\d+)/.exec(out);
    if (m && ++listening === n) process.stdout.write(`LISTENING ${m[1]}\n`);
    if (m) out = '';
  });
}
process.on('SIGTERM', () => {
  for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
  process.exit(0);
});
