// The dashboard (CONTRACT §4 `GET /`): a fastify plugin serving the page and its static assets
// from memory, with no auth (the page asks for the token and sends it only on its /api calls)
// and strict browser security headers. Registered inside the admin instance, so it is never
// reachable through the proxy listeners.
//
// Assets live next to this module (src/admin/dashboard/ when tests import src, dist/admin/dashboard/
// in production, copied there by scripts/copy-assets.mjs). uPlot is served from the production
// dependency in node_modules, resolved through the module system rather than a relative path.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TurnoutError } from '../errors.ts';

/**
 * No inline script or style, nothing from another origin, no framing, no plugins. `connect-src
 * 'self'` lets the page call only its own admin API. Inline style *attributes* are not allowed
 * either; the page sets sizes through CSSOM (element.style.width), which CSP does not restrict.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': DASHBOARD_CSP,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
  // Small files, always revalidated (by ETag) so an upgrade is picked up at the next reload.
  'cache-control': 'no-cache',
});

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

/**
 * The page's native ES modules (dashboard.js is the entry; it imports the others by relative URL,
 * so they are served flat beside it). A new module is one line here.
 */
export const DASHBOARD_MODULES: readonly string[] = Object.freeze([
  'dashboard.js',
  'dom.js',
  'state.js',
  'api.js',
  'charts.js',
  'render.js',
  'poll.js',
  'token.js',
  'actions.js',
  'services.js',
]);

/** The served name → where the file is. Anything not listed here is a 404: no path ever reaches the disk. */
function assetSources(): Record<string, URL | string> {
  const own = (name: string) => new URL(`./dashboard/${name}`, import.meta.url);
  const require = createRequire(import.meta.url);
  return {
    'index.html': own('index.html'),
    ...Object.fromEntries(DASHBOARD_MODULES.map((name) => [name, own(name)])),
    'dashboard.css': own('dashboard.css'),
    'favicon.svg': own('favicon.svg'),
    'uPlot.iife.min.js': require.resolve('uplot/dist/uPlot.iife.min.js'),
    'uPlot.min.css': require.resolve('uplot/dist/uPlot.min.css'),
  };
}

/** Reads every asset once, at registration: a missing file fails startup, not a page load. */
export async function loadDashboardAssets(): Promise<ReadonlyMap<string, Asset>> {
  const assets = new Map<string, Asset>();
  for (const [name, source] of Object.entries(assetSources())) {
    let body: Buffer;
    try {
      body = await readFile(source);
    } catch (err) {
      throw new Error(`dashboard asset ${name} cannot be read (${String(source)}); did the build copy the assets?`, { cause: err });
    }
    const ext = name.slice(name.lastIndexOf('.') + 1);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    assets.set(name, Object.freeze({ body, type: TYPES[ext] ?? 'application/octet-stream', etag }));
  }
  return assets;
}

function send(request: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  reply.headers(DASHBOARD_HEADERS).header('content-type', asset.type).header('etag', asset.etag);
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  return reply.code(200).send(asset.body);
}

/** Serves `GET /` and `GET /dashboard/<asset>`. Register on the admin instance: `app.register(dashboard)`. */
export async function dashboard(app: FastifyInstance): Promise<void> {
  const assets = await loadDashboardAssets();
  const index = assets.get('index.html');
  if (!index) throw new Error('dashboard: index.html missing');

  // Same headers on this context's 404s (an unknown asset), so no dashboard URL answers without them.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (!reply.hasHeader('content-security-policy')) reply.headers(DASHBOARD_HEADERS);
    return payload;
  });

  app.get('/', { schema: { hide: true } }, (request, reply) => send(request, reply, index));
  app.get<{ Params: { file: string } }>('/dashboard/:file', { schema: { hide: true } }, (request, reply) => {
    const asset = assets.get(request.params.file);
    if (!asset || request.params.file === 'index.html') {
      return reply.code(404).send(new TurnoutError('TURNOUT_ERR_NOT_FOUND', `no dashboard asset ${request.params.file}`).toJSON());
    }
    return send(request, reply, asset);
  });
}
