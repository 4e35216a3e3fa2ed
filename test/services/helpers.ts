// Helpers of the Services tests (CONTRACT §10): the whole app from a `services:` config on
// 127.0.0.1:0, real upstreams per service and colour, and requests with a chosen Host.
import { Agent, request } from 'undici';
import { parseConfig } from '../../src/config/load.ts';
import { buildApp, type AppOptions, type TurnoutApp } from '../../src/app.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

export const TOKEN = 'services-test-token-0123456789';

type Host = { teardown(fn: () => unknown): void };

export interface Pair {
  readonly blue: Upstream;
  readonly green: Upstream;
  readonly upstreams: { blue: { targets: string[] }; green: { targets: string[] } };
}

/** A blue and a green upstream named `<service>-blue` / `<service>-green`. */
export async function pair(t: Host, service: string): Promise<Pair> {
  const blue = await startUpstream(t, `${service}-blue`);
  const green = await startUpstream(t, `${service}-green`);
  return { blue, green, upstreams: { blue: { targets: [blue.url] }, green: { targets: [green.url] } } };
}

export async function startServices(t: Host, services: Record<string, unknown>, extra: Record<string, unknown> = {}, options: AppOptions = {}): Promise<{ app: TurnoutApp; proxy: string; admin: string }> {
  const config = parseConfig(
    { listen: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0, token: TOKEN }, state: { store: 'memory' }, services, ...extra },
    'test',
  );
  const app = await buildApp(config, { logger: false, background: false, ...options });
  t.teardown(() => app.close());
  const urls = await app.listen();
  return { app, proxy: urls.proxy, admin: urls.admin };
}

export interface Answer {
  readonly status: number;
  readonly colour: string | undefined;
  /** The upstream that answered (its name), or null for the proxy's own answers. */
  readonly name: string | null;
  readonly body: Record<string, unknown>;
}

/** One GET through the proxy with `host` as the Host header. */
export async function get(proxy: string, host: string, path: string, agent?: Agent, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await request(proxy + path, { headers: { host, ...headers }, ...(agent ? { dispatcher: agent } : {}) });
  const body = (await res.body.json()) as Record<string, unknown>;
  const colour = res.headers['x-turnout-colour'];
  return { status: res.statusCode, colour: typeof colour === 'string' ? colour : undefined, name: typeof body.name === 'string' ? body.name : null, body };
}

/** Requests an upstream saw, probes left out. */
export const served = (u: Upstream) => u.seen.filter((r) => r.url !== '/healthz');
