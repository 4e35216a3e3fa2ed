// Flip under load: steady load on Turnout while the admin API flips the active colour and
// changes the canary weight. Target: no failed and no non-2xx response, and both colours
// actually served (counted by the origin's two listeners).
import { request } from 'undici';
import type { OriginHandle } from '../lib/origin.ts';
import { runAutocannon } from '../lib/load.ts';
import { sleep } from '../lib/stats.ts';
import { visitorHeaders } from '../lib/visitors.ts';
import type { Live } from './throughput.ts';

export interface FlipResult {
  readonly contender: string;
  readonly seconds: number;
  readonly connections: number;
  readonly requests: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly actions: readonly { readonly action: string; readonly status: number }[];
  readonly adminFailures: number;
  readonly served: { readonly blue: number; readonly green: number };
}

const WEIGHTS = [10, 25, 50, 5, 75];

export async function flipUnderLoad(live: Live, origin: OriginHandle, options: { seconds: number; connections: number; actions: number }): Promise<FlipResult> {
  const admin = live.running.admin;
  if (!admin) throw new Error(`${live.contender.id} has no admin API`);
  const auth = { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' };
  const before = await origin.counts();
  const load = runAutocannon(live.running.url, { connections: options.connections, seconds: options.seconds, headersFor: visitorHeaders });
  const actions: { action: string; status: number }[] = [];
  const spacingMs = (options.seconds * 1000) / options.actions;
  await sleep(spacingMs / 2);
  for (let i = 0; i < options.actions; i++) {
    // Alternate: flip (weight back to 0), then move the new canary's weight.
    const flip = i % 2 === 0;
    const action = flip ? 'flip' : `weight ${WEIGHTS[(i >> 1) % WEIGHTS.length]}`;
    let status = 0;
    try {
      const res = flip
        ? await request(`${admin.url}/api/v1/flip`, { method: 'POST', headers: auth, body: '{}' })
        : await request(`${admin.url}/api/v1/canary`, { method: 'PUT', headers: auth, body: JSON.stringify({ weight: WEIGHTS[(i >> 1) % WEIGHTS.length] }) });
      await res.body.dump();
      status = res.statusCode;
    } catch {
      status = 0;
    }
    actions.push({ action, status });
    if (i < options.actions - 1) await sleep(spacingMs);
  }
  const result = await load;
  const after = await origin.counts();
  return {
    contender: live.contender.id,
    seconds: result.seconds,
    connections: options.connections,
    requests: result.requests,
    errors: result.errors,
    non2xx: result.non2xx,
    actions,
    adminFailures: actions.filter((a) => a.status !== 200).length,
    served: { blue: after.blue - before.blue, green: after.green - before.green },
  };
}
