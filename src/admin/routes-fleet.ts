// GET /api/v1/fleet (CONTRACT §4, §6): the replicas sharing this one's state. Without a shared
// store there is one entry, this process. Behind the bearer check like every /api/* route.
import { routeDocs } from './api-schemas.ts';
import type { FastifyInstance } from 'fastify';
import type { ServiceDirectory } from './services.ts';

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

/**
 * `version`: the only service's version (CONTRACT §4); with several services (§10), each has its own
 * counter, so `version` is the highest of them and `versions` gives each by name.
 */
export async function fleetRoutes(app: FastifyInstance, opts: { directory: ServiceDirectory; fleet?: FleetSource }): Promise<void> {
  const { directory } = opts;
  const first = directory.list[0]!;
  const fleet = opts.fleet ?? loneReplica('local', new Date(0).toISOString(), () => first.state.state.version);
  app.get('/api/v1/fleet', { schema: routeDocs.fleet }, async () => {
    const replicas = await fleet.replicas();
    if (directory.list.length === 1) return { version: first.state.state.version, replicas };
    const versions = Object.fromEntries(directory.list.map((s) => [s.name, s.state.state.version]));
    return { version: Math.max(...Object.values(versions)), versions, replicas };
  });
}
