// GET /api/v1/fleet (CONTRACT §4, §6): the replicas sharing this one's state. Without a shared
// store there is one entry, this process. Behind the bearer check like every /api/* route.
import { routeDocs } from './api-schemas.ts';
import type { FastifyInstance } from 'fastify';
import type { AdminDeps } from './server.ts';

export interface ReplicaEntry {
  readonly id: string;
  readonly self: boolean;
  readonly startedAt: string;
  readonly lastSeen: string;
  readonly appliedVersion: number;
  readonly workers: number;
  readonly leader: boolean;
}

/** What the route reads: the fleet membership (src/fleet/fleet.ts fits), or a lone process. */
export interface FleetSource {
  replicas(): Promise<readonly ReplicaEntry[]>;
}

/** A write's convergence across the fleet: `converged` in the JSON answer (CONTRACT §6). */
export interface Converged {
  readonly applied: number;
  readonly replicas: number;
  readonly lagging: readonly string[];
}

/** One process, no shared store: itself, always the leader. */
export function loneReplica(id: string, startedAt: string, appliedVersion: () => number, workers = 1): FleetSource {
  return {
    async replicas() {
      return [{ id, self: true, startedAt, lastSeen: new Date().toISOString(), appliedVersion: appliedVersion(), workers, leader: true }];
    },
  };
}

export async function fleetRoutes(app: FastifyInstance, opts: { deps: AdminDeps }): Promise<void> {
  const { deps } = opts;
  app.get('/api/v1/fleet', { schema: routeDocs.fleet }, async () => {
    const replicas = deps.fleet
      ? await deps.fleet.replicas()
      : await loneReplica('local', new Date(0).toISOString(), () => deps.state.state.version).replicas();
    return { version: deps.state.state.version, replicas };
  });
}
