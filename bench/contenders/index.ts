// The contenders: what each one is, how to start it as its own process, and why it may be
// unavailable (nginx not installed, dist/cli.js not built). The runner only sees this list.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { NODE, BENCH_DIR, startProcess, waitForLine, type Proc } from '../lib/procs.ts';
import type { OriginHandle } from '../lib/origin.ts';
import { nginxAvailable, startNginx } from './nginx.ts';
import { startTurnout, turnoutAvailable, type TurnoutOptions } from './turnout.ts';

export interface Running {
  /** Base URL load is sent to. */
  readonly url: string;
  /** The process whose tree is sampled from /proc (the origin itself for `direct`). */
  readonly pid: number;
  /** Admin API, for contenders that have one (Turnout). */
  readonly admin?: { readonly url: string; readonly token: string };
  stop(): Promise<void>;
}

export interface Contender {
  readonly id: string;
  readonly label: string;
  /** True when the contender is a proxy (has its own process, CPU and RSS). */
  readonly isProxy: boolean;
  /** null when it can run, else why not. */
  unavailable(): string | null;
  start(origin: OriginHandle, tmpDir: string): Promise<Running>;
}

async function startNodeScript(name: string, script: string, origin: string, tmpDir: string): Promise<Running> {
  const proc: Proc = startProcess({
    name,
    command: NODE,
    args: [path.join(BENCH_DIR, 'contenders', script), origin],
    logFile: path.join(tmpDir, `${name}.log`),
  });
  // The log file is piped from stdout too; the LISTENING line is read from the same stream.
  const port = await waitForLine(proc, /LISTENING (\d+)/);
  return { url: `http://127.0.0.1:${port}`, pid: proc.pid, stop: () => proc.stop() };
}

const direct: Contender = {
  id: 'direct',
  label: 'direct to origin (ceiling)',
  isProxy: false,
  unavailable: () => null,
  start: async (origin) => ({ url: origin.blue, pid: origin.pid, stop: async () => {} }),
};

const undiciProxy: Contender = {
  id: 'undici-proxy',
  label: 'node:http + undici dispatch',
  isProxy: true,
  unavailable: () => null,
  start: (origin, tmp) => startNodeScript('undici-proxy', 'undici-proxy.ts', origin.blue, tmp),
};

const fastifyProxy: Contender = {
  id: 'fastify-http-proxy',
  label: 'bare @fastify/http-proxy',
  isProxy: true,
  unavailable: () => (existsSync(path.join(BENCH_DIR, '..', 'node_modules', '@fastify', 'http-proxy')) ? null : 'not available: @fastify/http-proxy not installed'),
  start: (origin, tmp) => startNodeScript('fastify-http-proxy', 'fastify-http-proxy.ts', origin.blue, tmp),
};

function turnout(id: string, label: string, options: TurnoutOptions): Contender {
  return {
    id,
    label,
    isProxy: true,
    unavailable: turnoutAvailable,
    start: (origin, tmp) => startTurnout(id, origin, tmp, options),
  };
}

export const TURNOUT_WEIGHT_0 = turnout('turnout-w0', 'Turnout, weight 0', { weight: 0, overrides: false });
export const TURNOUT_SPLIT = turnout('turnout-split', 'Turnout, 10% sticky-cookie split, overrides on', { weight: 10, overrides: true });
/** The same split with V8's young generation capped: Node's default lets it grow to tens of MB. */
export const LOWMEM_NODE_ARGS = ['--max-semi-space-size=8'] as const;
export const TURNOUT_SPLIT_LOWMEM = turnout('turnout-split-semi8', `Turnout split, node ${LOWMEM_NODE_ARGS.join(' ')}`, { weight: 10, overrides: true, nodeArgs: LOWMEM_NODE_ARGS });

const nginx: Contender = {
  id: 'nginx',
  label: 'nginx (1 worker, upstream keep-alive)',
  isProxy: true,
  unavailable: nginxAvailable,
  start: (origin, tmp) => startNginx(origin, tmp),
};

export const ALL_CONTENDERS: readonly Contender[] = [direct, undiciProxy, fastifyProxy, TURNOUT_WEIGHT_0, TURNOUT_SPLIT, TURNOUT_SPLIT_LOWMEM, nginx];
export const UNDICI_PROXY = undiciProxy;
