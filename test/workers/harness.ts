// Runs `turnout serve` with workers as a real process tree (control plane + forked workers) on
// 127.0.0.1 port 0, and reads what a test needs from outside: the URLs it prints, its worker
// processes (from /proc), their CPU time, the admin API and /metrics.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startUpstream } from '../helpers/upstream.ts';
import { ensureBuilt } from '../helpers/build.ts';
import { waitFor } from '../helpers/wait.ts';

export const TOKEN = 'workers-test-token-0123456789';
export const auth = { authorization: `Bearer ${TOKEN}` };

interface Host {
  teardown(fn: () => unknown): void;
  testdir(): string;
}

export interface Turnout {
  readonly child: ChildProcess;
  readonly proxy: string;
  readonly admin: string;
  output(): string;
  /** Worker pids now (children of the control plane), spares included. */
  workers(): number[];
  /** Children the control plane logged as serving (`worker wN serving`), by worker id. */
  serving(): Map<string, number>;
  /** Children the control plane logged as warm spares that do not serve (yet). */
  spares(): Map<string, number>;
  exited(): Promise<number | null>;
}

/** Spawns `turnout serve` with `lines` as YAML (listen/admin on port 0 added unless given). */
export async function serveWorkers(t: Host, lines: string[], env: NodeJS.ProcessEnv = {}): Promise<Turnout> {
  ensureBuilt();
  const dir = t.testdir();
  const file = join(dir, 'turnout.yaml');
  const yaml = [
    ...(lines.some((l) => l.startsWith('listen:')) ? [] : ['listen: { host: 127.0.0.1, port: 0 }']),
    ...(lines.some((l) => l.startsWith('admin:')) ? [] : ['admin: { host: 127.0.0.1, port: 0, token: "${TURNOUT_ADMIN_TOKEN}" }']),
    ...(lines.some((l) => l.startsWith('state:')) ? [] : [`state: { store: file, path: "${join(dir, 'state.json')}" }`]),
    ...lines,
  ];
  writeFileSync(file, yaml.join('\n') + '\n');
  const child = spawn(process.execPath, ['dist/cli.js', 'serve', '--config', file], {
    env: { ...process.env, TURNOUT_ADMIN_TOKEN: TOKEN, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exit;
    }
  });
  let urls: RegExpExecArray | null = null;
  await waitFor(() => (urls = /proxy (https?:\/\/[^,\s]+).*admin (http:\/\/[^"\s]+)/.exec(out)) !== null || child.exitCode !== null, 'turnout to listen', 20_000);
  if (urls === null) throw new Error(`turnout exited before listening:\n${out}`);
  const [, proxy, admin] = urls as RegExpExecArray;
  return {
    child,
    proxy: proxy!,
    admin: admin!,
    output: () => out,
    workers: () => childrenOf(child.pid!),
    serving: () => logged(out, child.pid!, /^worker (w\d+) serving$/),
    spares: () => {
      const serving = logged(out, child.pid!, /^worker (w\d+) serving$/, false);
      const warm = logged(out, child.pid!, /^spare (w\d+) warm$/);
      for (const id of serving.keys()) warm.delete(id);
      return warm;
    },
    exited: () => exit,
  };
}

/** id → pid of the control plane's log lines matching `msg` whose pid is still its child. */
function logged(out: string, parent: number, msg: RegExp, aliveOnly = true): Map<string, number> {
  const children = new Set(childrenOf(parent));
  const found = new Map<string, number>();
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: { msg?: string; pid?: number };
    try {
      // The control plane's lines carry pino's own pid and then the worker's: JSON.parse keeps the last.
      entry = JSON.parse(line) as { msg?: string; pid?: number };
    } catch {
      continue;
    }
    const m = msg.exec(entry.msg ?? '');
    if (m && entry.pid !== undefined && (!aliveOnly || children.has(entry.pid))) found.set(m[1]!, entry.pid);
  }
  return found;
}

/** The direct children of a process (Linux /proc). */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** User + system CPU time of a process, in clock ticks (/proc/PID/stat fields 14 and 15). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

export async function adminJson<T>(turnout: Turnout, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await request(turnout.admin + path, {
    method: method as 'GET',
    headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.statusCode, body: (await res.body.json()) as T };
}

export async function metricsText(turnout: Turnout): Promise<string> {
  const res = await request(turnout.admin + '/metrics');
  return res.body.text();
}

/** Sum of turnout_requests_total over every series. */
export function requestsTotal(metrics: string): number {
  let sum = 0;
  for (const m of metrics.matchAll(/^turnout_requests_total\{[^}]*\} (\S+)$/gm)) sum += Number(m[1]);
  return sum;
}

export interface UpstreamsBody {
  colours: Record<'blue' | 'green', { requests: number; inFlight: number; targets: { requests: number; inFlight: number }[] }>;
}

/** A blue and a green upstream, and the config line pointing at them. */
export async function upstreams(t: Parameters<typeof startUpstream>[0]) {
  const blue = await startUpstream(t, 'blue', { keepBody: false });
  const green = await startUpstream(t, 'green', { keepBody: false });
  return { blue, green, lines: [`upstreams: { blue: { targets: ["${blue.url}"] }, green: { targets: ["${green.url}"] } }`] };
}

/** `total` GETs over `connections` keep-alive connections; returns the status of each. */
export async function load(turnout: Turnout, total: number, connections: number): Promise<number[]> {
  const agent = new Agent({ connections, pipelining: 1 });
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < total) {
        next++;
        const res = await request(`${turnout.proxy}/n`, { dispatcher: agent });
        await res.body.dump();
        statuses.push(res.statusCode);
      }
    }),
  );
  await agent.close();
  return statuses;
}
