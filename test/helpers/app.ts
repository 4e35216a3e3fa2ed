// The whole Turnout app (proxy, preview, admin) on 127.0.0.1:0 with a memory store by default,
// built from a real config through parseConfig. Registers its own teardown.
import { parseConfig } from '../../src/config/load.ts';
import { buildApp, type AppOptions, type TurnoutApp } from '../../src/app.ts';

export const TEST_TOKEN = 'test-token-0123456789abcdef';

export interface RunningApp {
  app: TurnoutApp;
  proxy: string;
  preview: string | null;
  admin: string;
  /** fetch against the admin API with the bearer token. */
  api(path: string, init?: RequestInit): Promise<Response>;
}

export async function startApp(
  t: { teardown(fn: () => unknown): void },
  raw: Record<string, unknown> & { upstreams: { blue: { targets: string[] }; green: { targets: string[] } } },
  options: AppOptions = {},
): Promise<RunningApp> {
  const config = parseConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0, token: TEST_TOKEN },
      state: { store: 'memory' },
      ...raw,
    },
    'test',
  );
  const app = await buildApp(config, { logger: false, ...options });
  t.teardown(() => app.close());
  const urls = await app.listen();
  return {
    app,
    proxy: urls.proxy,
    preview: urls.preview,
    admin: urls.admin,
    api: (path, init = {}) =>
      fetch(urls.admin + path, {
        ...init,
        headers: { authorization: `Bearer ${TEST_TOKEN}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.headers as Record<string, string> | undefined) },
      }),
  };
}
