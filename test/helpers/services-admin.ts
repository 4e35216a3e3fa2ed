// An admin server of several services (CONTRACT §10) built from real parts, before the config
// has `services:`: per service a StateManager over its own MemoryStore, real colour pools over
// real upstreams on 127.0.0.1, a real Telemetry, RolloutController, VerificationController and
// Shadower, as app.ts builds them for one. Takes `t`, registers its own teardown.
import type { FastifyInstance } from 'fastify';
import { buildAdminServer, type ServicesAdminDeps } from '../../src/admin/server.ts';
import type { AdminService } from '../../src/admin/services.ts';
import { makePools } from '../../src/compose.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Clock, Colour } from '../../src/domain.ts';
import { Telemetry } from '../../src/metrics/telemetry.ts';
import { RolloutController } from '../../src/rollout/controller.ts';
import { VerificationController } from '../../src/rollout/verification.ts';
import { shadowConfigOf } from '../../src/shadow/defaults.ts';
import { Shadower } from '../../src/shadow/mirror.ts';
import { StateManager } from '../../src/state/manager.ts';
import { MemoryStore } from '../../src/state/memory-store.ts';
import type { ColourPool } from '../../src/upstream/pool.ts';
import { TEST_TOKEN, type CallOptions, type CallResult } from './admin.ts';
import { startUpstream } from './upstream.ts';

export interface ServiceParts {
  readonly name: string;
  readonly state: StateManager;
  readonly pools: Readonly<Record<Colour, ColourPool>>;
  readonly telemetry: Telemetry;
  readonly rollouts: RolloutController;
  readonly verification: VerificationController;
  readonly shadow: Shadower;
  readonly service: AdminService;
}

export interface ServicesAdmin {
  url: string;
  /** The bearer token (helpers/admin.ts's TEST_TOKEN). */
  token: string;
  app: FastifyInstance;
  services: Record<string, ServiceParts>;
  call(method: string, path: string, options?: CallOptions): Promise<CallResult>;
}

export interface ServiceSpec {
  name: string;
  hosts?: string[];
  pathPrefix?: string;
}

/** One service's parts, as app.ts wires them for its one service. */
export async function serviceParts(t: { teardown(fn: () => unknown): void }, spec: ServiceSpec, clock: Clock): Promise<ServiceParts> {
  const blue = await startUpstream(t, `${spec.name}-blue`);
  const green = await startUpstream(t, `${spec.name}-green`);
  const config = parseConfig(
    { admin: { token: TEST_TOKEN }, state: { store: 'memory' }, upstreams: { blue: { targets: [blue.url] }, green: { targets: [green.url] } } },
    spec.name,
  );
  const state = await StateManager.open({ store: new MemoryStore(), seed: { active: 'blue', weight: 0 }, clock });
  const pools = makePools(config, clock, () => {}, false);
  const telemetry = new Telemetry({ pools, windowSeconds: 60, clock });
  const verification = new VerificationController({ state, windows: telemetry, clock, defaults: null });
  const shadow = new Shadower({ config: shadowConfigOf(config), targets: { blue: [blue.url], green: [green.url] }, now: () => clock.now() });
  const rollouts = new RolloutController({
    state,
    windows: telemetry,
    clock,
    shadow: () => ({ compared: shadow.stats.compared, mismatches: shadow.stats.results.mismatch }),
    decoratePromotion: (before, promotion) => verification.decoratePromotion(before, promotion),
  });
  t.teardown(async () => {
    rollouts.stop();
    verification.stop();
    await Promise.all([pools.blue.close(), pools.green.close(), shadow.close()]);
    await state.close();
  });
  const service: AdminService = {
    name: spec.name,
    match: { hosts: spec.hosts ?? [], pathPrefix: spec.pathPrefix ?? '/' },
    state,
    sticky: config.routing.sticky,
    telemetry,
    rollouts,
    verification,
    shadow,
  };
  return { name: spec.name, state, pools, telemetry, rollouts, verification, shadow, service };
}

export async function startServicesAdmin(
  t: { teardown(fn: () => unknown): void },
  specs: ServiceSpec[],
  options: { clock: Clock; deps?: Partial<ServicesAdminDeps> },
): Promise<ServicesAdmin> {
  const services: Record<string, ServiceParts> = {};
  for (const spec of specs) services[spec.name] = await serviceParts(t, spec, options.clock);
  const app = await buildAdminServer({ token: TEST_TOKEN, isReady: () => true, services: specs.map((s) => services[s.name]!.service), ...options.deps });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  return {
    url,
    token: TEST_TOKEN,
    app,
    services,
    async call(method, path, callOptions = {}) {
      const headers: Record<string, string> = { ...callOptions.headers };
      if (callOptions.auth !== false) headers.authorization ??= `Bearer ${TEST_TOKEN}`;
      let body: string | undefined;
      if (typeof callOptions.body === 'string') body = callOptions.body;
      else if (callOptions.body !== undefined) {
        body = JSON.stringify(callOptions.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(url + path, { method, headers, body });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, text, json };
    },
  };
}
