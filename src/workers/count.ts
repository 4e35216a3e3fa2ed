// `workers: N | auto` (CONTRACT §7) → a number of data-plane processes.
import { availableParallelism } from 'node:os';

/** `auto` is one worker per CPU this process may use (os.availableParallelism(), cgroup-aware in Node 24). */
export function resolveWorkers(setting: number | 'auto', cpus: () => number = availableParallelism): number {
  return setting === 'auto' ? Math.max(1, cpus()) : setting;
}
