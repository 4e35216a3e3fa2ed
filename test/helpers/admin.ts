// A real admin server on 127.0.0.1:0 over a StateManager, for admin and CLI tests. Takes `t`,
// registers its own teardown, returns a handle with a small fetch wrapper.
import type { FastifyInstance } from 'fastify';
import type { AdminDeps } from '../../src/admin/server.ts';
import { buildAdminServer } from '../../src/admin/server.ts';
import type { Clock } from '../../src/domain.ts';
import { StateManager } from '../../src/state/manager.ts';
import { MemoryStore } from '../../src/state/memory-store.ts';
import type { StateStore } from '../../src/state/store.ts';

export const TEST_TOKEN = 'test-token-0123456789';

export interface AdminHandle {
  url: string;
  token: string;
  app: FastifyInstance;
  state: StateManager;
  store: StateStore;
  /** Sets what /readyz answers. */
  setReady(ready: boolean): void;
  /** fetch against the server; `auth: false` leaves the bearer token out. */
  call(method: string, path: string, options?: CallOptions): Promise<CallResult>;
  close(): Promise<void>;
}

export interface CallOptions {
  /** An object is sent as JSON; a string is sent verbatim (set content-type yourself). */
  body?: unknown;
  headers?: Record<string, string>;
  auth?: boolean;
}

export interface CallResult {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

interface TeardownHost {
  teardown(fn: () => unknown): void;
}

export async function startAdmin(
  t: TeardownHost,
  options: { store?: StateStore; clock?: Clock; deps?: Partial<AdminDeps>; seed?: { active: 'blue' | 'green'; weight: number } } = {},
): Promise<AdminHandle> {
  const store = options.store ?? new MemoryStore();
  const state = await StateManager.open({ store, seed: options.seed ?? { active: 'blue', weight: 0 }, ...(options.clock ? { clock: options.clock } : {}) });
  let ready = true;
  const app = await buildAdminServer({ token: TEST_TOKEN, state, isReady: () => ready, ...options.deps });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await app.close();
    await state.close();
  };
  t.teardown(close);
  return {
    url,
    token: TEST_TOKEN,
    app,
    state,
    store,
    setReady: (r) => void (ready = r),
    close,
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
