// DESIGN.md layering, for the rollout files: rollout/ never touches the proxy, the upstream pools,
// the admin server or the metrics implementation (it reads windows through a narrow interface).
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
}

// schema/ (and typebox) is how every input is defined and validated (one schema per input).
t.test('rollout/ imports only the shared vocabulary, the state model, the schema layer and itself', async (t) => {
  const dir = path.join(src, 'rollout');
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    for (const spec of imports(path.join(dir, name))) {
      if (!spec.startsWith('.')) {
        t.ok(spec.startsWith('node:') || spec === 'undici' || spec === 'typebox', `${name}: ${spec} is a runtime dependency`);
        continue;
      }
      const target = path.relative(src, path.resolve(dir, spec));
      t.ok(
        target.startsWith('rollout/') || target.startsWith('schema/') || ['domain.ts', 'errors.ts', 'state/model.ts'].includes(target),
        `${name} → ${target}`,
      );
    }
  }
});

t.test('the rollout routes and CLI never import the proxy', async (t) => {
  for (const file of ['admin/routes-rollouts.ts', 'client/rollout-commands.ts', 'client/rollout-client.ts']) {
    for (const spec of imports(path.join(src, file))) {
      const target = spec.startsWith('.') ? path.relative(src, path.resolve(path.dirname(path.join(src, file)), spec)) : spec;
      t.notOk(/^(proxy|upstream|routing)\//.test(target), `${file} → ${target}`);
    }
  }
});
