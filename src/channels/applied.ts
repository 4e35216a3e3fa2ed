// The data-plane end of the down channel, whatever the transport: holds the routing snapshot the
// data plane reads per request (one field read, as before channels existed) and applies probe
// health to the data plane's own pools through their one narrow setter. `apply` is what a
// SnapshotSubscriber calls; when it returns, every request from then on sees the message.
import { COLOURS, type Colour } from '../domain.ts';
import type { RoutingSnapshot } from '../state/model.ts';
import type { ColourPool } from '../upstream/pool.ts';
import type { SnapshotMessage, ServiceId } from './types.ts';
import { DEFAULT_SERVICE } from './types.ts';

export class AppliedSnapshot {
  readonly service: ServiceId;
  routing: RoutingSnapshot | undefined;
  /** The seq of the last message applied (0: none yet). */
  seq = 0;
  readonly #pools: Readonly<Record<Colour, ColourPool>> | undefined;

  /** `pools`: where health goes; leave it out when the pools are the health checker's own (one process). */
  constructor(options: { service?: ServiceId; pools?: Readonly<Record<Colour, ColourPool>>; initial?: RoutingSnapshot } = {}) {
    this.service = options.service ?? DEFAULT_SERVICE;
    this.#pools = options.pools;
    this.routing = options.initial;
  }

  readonly apply = (message: SnapshotMessage): void => {
    if (message.service !== this.service) return;
    this.routing = message.routing;
    this.seq = message.seq;
    const health = message.health;
    if (health === undefined || this.#pools === undefined) return;
    for (const colour of COLOURS) {
      const pool = this.#pools[colour];
      pool.targets.forEach((target, i) => {
        const healthy = health[colour][i];
        if (healthy !== undefined) pool.setProbeHealth(target, healthy, healthy ? 'probes pass (control plane)' : 'probes fail (control plane)');
      });
    }
  };
}
