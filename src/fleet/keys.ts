// Every Redis key of one fleet, in one place. `state.key` prefixes all of them, so several
// fleets share one Redis; below it, what belongs to a service is keyed by its id (`default`
// until services exist, CONTRACT §10), what belongs to the fleet is not.
export const DEFAULT_SERVICE = 'default';

export interface FleetKeys {
  readonly prefix: string;
  /** The service these keys belong to (CONTRACT §10). */
  readonly service: string;
  /** Pub/sub channel: every replica's per-second TelemetryDelta of this service, as JSON. */
  readonly telemetryChannel: string;
  /** Hash { version, json }: the RoutingState. */
  readonly state: string;
  /** Stream of audit events (XADD MAXLEN), one entry per event: field `e` = JSON. */
  readonly events: string;
  /** Pub/sub channel: the version of each commit. */
  readonly commits: string;
  /** Pub/sub channel: `<replica> <version>` each time a replica applied a version. */
  readonly acks: string;
  /** Hash replica → the version it applied last. */
  readonly applied: string;
  /** Telemetry: `<prefix>:svc:<id>:tel:<epoch second>` → hash replica → JSON deltas. */
  telemetry(second: number): string;
  /** Set of replica ids ever seen (pruned when their heartbeat key expired). */
  readonly replicas: string;
  /** String with a TTL: one replica's heartbeat. */
  heartbeat(replica: string): string;
  /** The rollout controller's lease (SET NX PX): holds the leader's replica id. */
  readonly leader: string;
}

export function fleetKeys(prefix: string, service: string = DEFAULT_SERVICE): FleetKeys {
  const svc = `${prefix}:svc:${service}`;
  return Object.freeze({
    prefix,
    service,
    telemetryChannel: `${svc}:telemetry`,
    state: `${svc}:state`,
    events: `${svc}:events`,
    commits: `${svc}:commits`,
    acks: `${svc}:acks`,
    applied: `${svc}:applied`,
    telemetry: (second: number) => `${svc}:tel:${second}`,
    replicas: `${prefix}:replicas`,
    heartbeat: (replica: string) => `${prefix}:replica:${replica}`,
    leader: `${svc}:leader`,
  });
}
