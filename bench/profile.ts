// Summarises a V8 .cpuprofile (from `npm run bench:quick -- --cpu-prof DIR`): the functions
// with the most self time, and the Turnout source files (dist/) by self and inclusive time.
// Usage: node bench/profile.ts FILE.cpuprofile [--top N]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
const file = positionals[0];
if (!file) throw new Error('usage: node bench/profile.ts FILE.cpuprofile [--top N]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; startTime: number; endTime: number };
const top = Number(values.top);

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const hits = new Map<number, number>();
for (const s of profile.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
// Percentages are of busy samples: idle time depends on the load generator, not the proxy.
const idleIds = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
const total = profile.samples.filter((s) => !idleIds.has(s)).length;

const short = (url: string) => url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/').replace(/^node:/, 'node:');
const key = (n: Node) => `${n.callFrame.functionName || '(anonymous)'}  ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

// Coarse areas: where a request's CPU goes, comparable between two proxies' profiles.
function area(node: Node): string {
  const { functionName: fn, url } = node.callFrame;
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return '(program)';
  if (!url && /^write|^read|^writev|^close|^open/.test(fn)) return 'native I/O (syscalls)';
  if (!url) return `native other`;
  if (url.includes('/node_modules/undici/')) return 'undici';
  if (url.includes('/node_modules/')) return 'other node_modules';
  if (url.includes('/dist/') || url.includes('/bench/')) return 'proxy code (dist/ or bench/)';
  if (/^node:(_http|http)/.test(url)) return 'node:http';
  if (/^node:(net|internal\/stream_base|stream|internal\/streams)/.test(url)) return 'node:net/streams';
  if (/^node:internal\/(modules|vm)|wasm/.test(url)) return 'module loading (startup)';
  return 'node: other';
}
const areas = new Map<string, number>();
const self = new Map<string, number>();
const fileSelf = new Map<string, number>();
const fileIncl = new Map<string, number>();
for (const [id, count] of hits) {
  if (idleIds.has(id)) continue;
  const node = byId.get(id)!;
  areas.set(area(node), (areas.get(area(node)) ?? 0) + count);
  self.set(key(node), (self.get(key(node)) ?? 0) + count);
  const url = short(node.callFrame.url);
  if (url.startsWith('dist/')) fileSelf.set(url, (fileSelf.get(url) ?? 0) + count);
  // Inclusive: each dist/ file on the sample's stack, counted once.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const u = short(byId.get(cur)!.callFrame.url);
    if (u.startsWith('dist/') && !seen.has(u)) {
      seen.add(u);
      fileIncl.set(u, (fileIncl.get(u) ?? 0) + count);
    }
  }
}
const pct = (n: number) => `${((n / total) * 100).toFixed(1).padStart(5)}%`;
const print = (title: string, m: Map<string, number>, n: number) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) process.stdout.write(`${pct(v)}  ${k}\n`);
};
process.stdout.write(`${total} busy of ${profile.samples.length} samples over ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s\n`);
print('by area (self time)', areas, 20);
print(`top ${top} functions by self time`, self, top);
print('Turnout files (dist/) by self time', fileSelf, 30);
print('Turnout files (dist/) by inclusive time', fileIncl, 30);
