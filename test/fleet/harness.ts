// Replicas of one fleet for tests: whole Turnout apps (buildApp) on 127.0.0.1:0, each with its
// own proxy and admin ports, sharing one real redis-server.
import type { Test } from 'tap';
import { startApp, type RunningApp } from '../helpers/app.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import type { AppOptions } from '../../src/app.ts';

export interface FleetUpstreams {
  blue: Upstream;
  green: Upstream;
}

export async function upstreams(t: Test): Promise<FleetUpstreams> {
  return { blue: await startUpstream(t, 'blue'), green: await startUpstream(t, 'green') };
}

export function replica(
  t: Test,
  redisUrl: string,
  up: FleetUpstreams,
  id: string,
  extra: { prefix?: string; fleet?: Record<string, unknown>; routing?: Record<string, unknown> } = {},
  options: AppOptions = {},
): Promise<RunningApp> {
  return startApp(
    t,
    {
      upstreams: { blue: { targets: [up.blue.url] }, green: { targets: [up.green.url] } },
      state: { store: 'redis', url: redisUrl, key: extra.prefix ?? 'fleet' },
      fleet: { replica: id, heartbeatMs: 200, leaseMs: 600, convergeTimeoutMs: 2000, ...extra.fleet },
      ...(extra.routing ? { routing: extra.routing } : {}),
    },
    { background: false, ...options },
  );
}

/** Which colour answered a plain GET through a replica's proxy. */
export async function colourVia(r: RunningApp, path = '/'): Promise<string> {
  const res = await fetch(r.proxy + path);
  await res.arrayBuffer();
  return res.headers.get('x-turnout-colour') ?? '';
}
