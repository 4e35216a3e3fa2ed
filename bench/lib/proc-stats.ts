// CPU time and memory of a process tree, read from /proc (Linux). A contender is a process
// and its descendants (nginx: master + worker), so every figure is summed over the tree.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export const PROC_AVAILABLE = (() => {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
})();

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

function readStat(pid: number): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** `pid` and all its descendants (scans /proc; call once per measurement, not per sample). */
export function processTree(pid: number): number[] {
  if (!PROC_AVAILABLE) return [pid];
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = readStat(Number(entry));
    if (!fields) continue;
    const ppid = Number(fields[1]); // field 4 of stat: ppid
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

/** User + system CPU seconds consumed so far by the given processes. */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const fields = readStat(pid);
    if (!fields) continue;
    ticks += Number(fields[11]) + Number(fields[12]); // stat fields 14 (utime), 15 (stime)
  }
  return ticks / CLK_TCK;
}

function statusField(pid: number, field: string): number {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Resident set size now, bytes. */
export function rssBytes(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + statusField(pid, 'VmRSS'), 0);
}

/** Peak resident set size over each process's lifetime (VmHWM), bytes. */
export function peakRssBytes(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + statusField(pid, 'VmHWM'), 0);
}

export interface Usage {
  /** CPU seconds used during the window. */
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  /** Highest RSS seen by the sampler during the window, bytes. */
  readonly sampledPeakRss: number;
  /** VmHWM at the end of the window: lifetime peak, bytes. */
  readonly lifetimePeakRss: number;
}

/** Samples one process tree while a measurement runs. */
export class Sampler {
  private readonly pids: number[];
  private readonly cpuStart: number;
  private readonly wallStart: number;
  private peak: number;
  private readonly timer: NodeJS.Timeout;

  constructor(pid: number, intervalMs = 100) {
    this.pids = processTree(pid);
    this.cpuStart = cpuSeconds(this.pids);
    this.wallStart = performance.now();
    this.peak = rssBytes(this.pids);
    this.timer = setInterval(() => {
      this.peak = Math.max(this.peak, rssBytes(this.pids));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): Usage {
    clearInterval(this.timer);
    this.peak = Math.max(this.peak, rssBytes(this.pids));
    return {
      cpuSeconds: cpuSeconds(this.pids) - this.cpuStart,
      wallSeconds: (performance.now() - this.wallStart) / 1000,
      sampledPeakRss: this.peak,
      lifetimePeakRss: peakRssBytes(this.pids),
    };
  }
}
