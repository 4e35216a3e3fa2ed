// Helpers of the rollout end-to-end tests: the whole app (buildApp) with real upstreams, paced
// background traffic through the proxy, the controller on its own timer. Conditions are polled
// with bounded deadlines; nothing asserts on timing.
import { Agent, request } from 'undici';
import type { RunningApp } from '../helpers/app.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

// A generous latency tolerance: this machine is shared, and a p99 of a few dozen requests is their
// maximum, so one scheduling hiccup would otherwise look like a regression. 300 ms still is one.
export const analysis = { intervalSeconds: 1, minRequests: 15, maxErrorRate: 0.02, maxP99Ms: 800, maxP99Ratio: 1.5, p99ToleranceMs: 150 };

/** A few paced clients (random sticky ids, so every request is a fresh draw) until stopped. */
export function traffic(t: { teardown(fn: () => unknown): void }, proxy: string, clients = 4, pauseMs = 10) {
  const agent = new Agent({ connections: clients });
  const seen = { blue: 0, green: 0, status5xx: 0, total: 0 };
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      try {
        const res = await request(proxy + '/work', { dispatcher: agent });
        const colour = res.headers['x-turnout-colour'];
        if (colour === 'blue' || colour === 'green') seen[colour]++;
        if (res.statusCode >= 500) seen.status5xx++;
        seen.total++;
        await res.body.dump();
      } catch {
        // a connection error is the proxy's business; keep the load going
      }
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  };
  const running = Array.from({ length: clients }, loop);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      stopped = true;
      await Promise.all(running);
      await agent.close();
    })());
  t.teardown(stop);
  return { seen, stop };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, deadlineMs = 15_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface RolloutJson {
  status: string;
  step: number;
  weight: number;
  reason: string;
  analysis: { at: string; step: number; result: string; reasons: string[]; canary: { requests: number } }[];
}

export const current = async (turnout: RunningApp) => (await (await turnout.api('/api/v1/rollouts/current')).json()) as RolloutJson;
export const until = (turnout: RunningApp, pred: (r: RolloutJson) => boolean) => async () => {
  const r = await current(turnout);
  return pred(r) ? r : undefined;
};

export async function upstreams(t: Tap) {
  const blue = await startUpstream(t, 'blue', { keepBody: false });
  const green = await startUpstream(t, 'green', { keepBody: false });
  return { blue, green };
}
export type Tap = { teardown(fn: () => unknown): void };

/** Makes `u` answer /healthz with 200 and everything else through `answer`. */
export function behave(u: Upstream, answer: (res: import('node:http').ServerResponse) => void) {
  u.handle((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
      return;
    }
    answer(res);
  });
}

export function config(blue: Upstream, green: Upstream) {
  return {
    upstreams: { blue: { targets: [blue.url] }, green: { targets: [green.url] } },
    outlier: { consecutiveFailures: 1000, ejectMs: 10_000 },
  };
}

export async function start(turnout: RunningApp, body: unknown) {
  const res = await turnout.api('/api/v1/rollouts', { method: 'POST', body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`start: ${res.status} ${await res.text()}`);
  return (await res.json()) as RolloutJson;
}

