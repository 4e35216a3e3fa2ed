// tsc compiles only .ts: copy the dashboard's static files next to the compiled module, so
// dist/admin/dashboard.js finds them at ./dashboard/ exactly as src/admin/dashboard.ts does.
import { cpSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
cpSync(`${root}src/admin/dashboard`, `${root}dist/admin/dashboard`, { recursive: true });
