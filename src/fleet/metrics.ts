// Fleet metrics on a process's own registry: /metrics stays per process (CONTRACT §6) and every
// series carries `replica`, so `sum by (colour)` aggregates a fleet in Prometheus.
import { Gauge, type Registry } from 'prom-client';

export function registerFleetMetrics(registry: Registry, fleet: { readonly id: string; readonly up: boolean; readonly lease: { readonly held: boolean } }): void {
  registry.setDefaultLabels({ replica: fleet.id });
  new Gauge({
    name: 'turnout_state_store_up',
    help: '1 while the shared state store (Redis) is reachable, 0 while not (routing continues on the last applied state)',
    registers: [registry],
    collect() {
      this.set(fleet.up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'turnout_fleet_leader',
    help: '1 on the replica holding the rollout lease',
    registers: [registry],
    collect() {
      this.set(fleet.lease.held ? 1 : 0);
    },
  });
}
