// Starts bench/origin.ts as its own process and reads its per-colour counters.
import path from 'node:path';
import { request } from 'undici';
import { BENCH_DIR, NODE, startProcess, waitForLine } from './procs.ts';

export interface OriginHandle {
  readonly pid: number;
  readonly blue: string;
  readonly green: string;
  /** Requests each listener has answered so far (health checks excluded). */
  counts(): Promise<{ blue: number; green: number }>;
  stop(): Promise<void>;
}

/** `env`: bench/origin.ts's switches (ORIGIN_GREEN_DELAY_MS, ORIGIN_SAME_ANSWER; bench/shadow.ts); `name` its log's. */
export async function startOrigin(tmpDir: string, options: { env?: Record<string, string>; name?: string } = {}): Promise<OriginHandle> {
  const name = options.name ?? 'origin';
  const env = options.env ? { ...process.env, ...options.env } : undefined;
  const proc = startProcess({ name, command: NODE, args: [path.join(BENCH_DIR, 'origin.ts')], logFile: path.join(tmpDir, `${name}.log`), ...(env ? { env } : {}) });
  const ports = JSON.parse(await waitForLine(proc, /ORIGIN (\{.*\})/)) as { blue: number; green: number };
  const blue = `http://127.0.0.1:${ports.blue}`;
  return {
    pid: proc.pid,
    blue,
    green: `http://127.0.0.1:${ports.green}`,
    async counts() {
      const res = await request(`${blue}/__bench/stats`);
      return (await res.body.json()) as { blue: number; green: number };
    },
    stop: () => proc.stop(),
  };
}
