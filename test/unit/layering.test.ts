// Imports flow one way (DESIGN.md): reads every import of src/**/*.ts and checks it against the
// table below. A new edge is a design decision: change the table and DESIGN.md together.
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';

const SRC = resolve(import.meta.dirname, '../../src');

/** Which layers each layer may import (value imports); `import type` may also reach `types`. */
const ALLOWED: Record<string, { value: string[]; types?: string[] }> = {
  domain: { value: [] },
  errors: { value: [] },
  // One schema per input (TypeBox + the strict Ajv): the validator, its issues and the field paths.
  schema: { value: ['domain', 'errors'] },
  config: { value: ['domain', 'errors', 'schema'] },
  state: { value: ['domain', 'errors'], types: ['config'] },
  routing: { value: ['domain'], types: ['state'] },
  upstream: { value: ['domain', 'errors'], types: ['config'] },
  metrics: { value: ['domain', 'errors', 'upstream'], types: ['state', 'config', 'rollout'] },
  proxy: { value: ['domain', 'errors', 'routing', 'upstream'], types: ['config', 'state', 'metrics', 'shadow'] },
  // CONTRACT §9: mirroring and comparison; the proxy feeds it through a type-only hook (LiveTap).
  shadow: { value: ['domain', 'errors'], types: ['config', 'state'] },
  rollout: { value: ['domain', 'errors', 'state', 'schema'], types: ['config', 'metrics'] },
  admin: { value: ['domain', 'errors', 'state', 'rollout', 'schema'], types: ['config', 'metrics', 'upstream', 'shadow'] },
  client: { value: ['domain', 'errors'], types: ['admin', 'rollout', 'state', 'shadow'] },
  // Replicas sharing one Redis (CONTRACT §6): the Redis store, lease, heartbeats, acks, and the
  // Redis transport of the telemetry channel (a fleet-wide Telemetry fed with every replica's deltas).
  fleet: { value: ['domain', 'errors', 'state', 'metrics', 'channels'], types: ['config', 'rollout', 'upstream'] },
  // Webhooks for every state event: the state's and the rollout's pure views, delivered over HTTP.
  notify: { value: ['domain', 'errors', 'rollout'], types: ['state'] },
  demo: { value: [] },
  runtime: { value: [] },
  // Snapshots down, telemetry up (DESIGN.md "One control plane, many data planes"): the worker-side
  // aggregator and the control-plane merger speak metrics' and upstream's vocabulary.
  // The shadow reports (CONTRACT §9) travel as shadow's own plain-JSON counts.
  channels: { value: ['domain', 'errors', 'metrics', 'upstream'], types: ['state', 'config', 'shadow'] },
  // The supervisor: fork, replace, drain; it moves channel messages and never sees a request.
  workers: { value: ['domain', 'errors', 'channels'], types: ['config', 'state'] },
  tls: { value: ['domain', 'errors', 'config', 'proxy'], types: ['config', 'proxy'] },
};
/** The composition root and entry points see everything. */
// services/: one service's control-plane runtime (CONTRACT §10), the part of the composition root
// app.ts builds once per service.
const ROOTS = new Set(['app', 'server', 'cli', 'demo', 'compose', 'worker', 'services']);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function layerOf(file: string): string {
  const rel = relative(SRC, file).replace(/\.ts$/, '');
  return rel.includes('/') ? rel.split('/')[0]! : rel;
}

t.test('imports follow the layering table', async (t) => {
  const violations: string[] = [];
  let edges = 0;
  for (const file of files(SRC)) {
    const from = layerOf(file);
    if (ROOTS.has(from) && !file.includes('/demo/')) continue;
    const rules = ALLOWED[from];
    if (!rules) {
      violations.push(`${relative(SRC, file)}: layer "${from}" is not in the table`);
      continue;
    }
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/^\s*import\s+(type\s+)?[^'"]*?from\s+'(\.[^']+)'/gm)) {
      const typeOnly = Boolean(m[1]);
      const to = layerOf(resolve(dirname(file), m[2]!));
      if (to === from) continue;
      edges++;
      const ok = rules.value.includes(to) || (typeOnly && (rules.types ?? []).includes(to));
      if (!ok) violations.push(`${relative(SRC, file)} → ${to}${typeOnly ? ' (type)' : ''}`);
    }
  }
  t.ok(edges > 20, `${edges} cross-layer imports checked`);
  t.same(violations, [], 'no import against the table');
});
