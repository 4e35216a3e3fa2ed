// Prometheus view of the supervisor (CONTRACT §7), read at scrape time. Request metrics stay in
// metrics/: the control plane's Telemetry already holds every worker's requests, merged.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Supervisor } from './supervisor.ts';

export function registerWorkerMetrics(register: Registry, workers: Supervisor): void {
  new Gauge({
    name: 'turnout_workers',
    help: 'Data-plane worker processes, by state (ready: listening and routing by the current snapshot; spare: forked and built, not serving).',
    labelNames: ['state'] as const,
    registers: [register],
    collect() {
      const list = workers.list();
      const serving = list.filter((w) => w.role === 'serving');
      const ready = serving.filter((w) => w.ready).length;
      this.set({ state: 'ready' }, ready);
      this.set({ state: 'starting' }, serving.length - ready);
      // Warm spares (workers/spare.ts), forked and built, waiting to replace a worker that dies.
      this.set({ state: 'spare' }, list.length - serving.length);
    },
  });
  new Counter({
    name: 'turnout_worker_restarts_total',
    help: 'Workers that died and were replaced since the control plane started.',
    registers: [register],
    collect() {
      this.reset();
      this.inc(workers.restarts);
    },
  });
}
