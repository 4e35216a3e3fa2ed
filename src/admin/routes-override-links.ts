// POST /api/v1/override-links (issue 12, item 7): mints a signed override value, so a tester can
// try a colour ("try green" link, cookie or header) without routing.override.allowFrom being
// opened to everyone. The value is `v1.<colour>.<expires>.<HMAC>` (routing/override-token.ts,
// keyed by routing.override.secret); nothing is stored, so every replica and worker with the same
// secret honours it, and it cannot be revoked before it expires except by changing the secret.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import { oneOf } from '../schema/common.ts';
import { TurnoutError } from '../errors.ts';
import type { ServiceScope } from './services.ts';
import { ensureSharedSchemas, routeDocs } from './api-schemas.ts';

export type OverrideLinkValue = 'blue' | 'green' | 'canary' | 'stable';

/** Built by app.ts from the config; absent when routing.override.secret is empty (or overrides are off). */
export interface OverrideLinks {
  readonly cookie: string;
  readonly header: string;
  /** The proxy path that turns a token into the cookie (proxy/override-link.ts). */
  readonly path: string;
  mint(value: OverrideLinkValue, ttlSeconds: number): { token: string; expiresAtSeconds: number };
}

export const DEFAULT_LINK_TTL_SECONDS = 3600;
export const MAX_LINK_TTL_SECONDS = 7 * 24 * 3600;

const overrideLinkBody = Type.Object(
  {
    colour: oneOf(['blue', 'green', 'canary', 'stable']),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: MAX_LINK_TTL_SECONDS })),
    // Where the link lands after setting the cookie: a local path only (no open redirect).
    next: Type.Optional(Type.String({ maxLength: 2048, pattern: '^/(?![/\\\\])[\\x21-\\x7e]*$' })),
    // The public origin testers use (https://shop.example.com): the answer then has a full `link`.
    baseUrl: Type.Optional(Type.String({ maxLength: 2048, pattern: '^https?://[^/?#\\s]+/?$' })),
  },
  { additionalProperties: false },
);
type OverrideLinkBody = Static<typeof overrideLinkBody>;

/** The override-link route of one service (its routing.override secret; path relative to the mounting: services.ts). */
export async function overrideLinkRoutes(app: FastifyInstance, opts: { scope: ServiceScope }): Promise<void> {
  const { scope } = opts;
  ensureSharedSchemas(app);
  app.post<{ Body: OverrideLinkBody }>('/override-links', { schema: scope.doc({ ...routeDocs.overrideLinks, body: overrideLinkBody }) }, async (request, reply) => {
    const links = scope.resolve(request).overrideLinks;
    if (links === undefined) {
      throw new TurnoutError('TURNOUT_ERR_CONFLICT', 'signed override links are off: set routing.override.secret (and keep routing.override.enabled)');
    }
    const { colour, ttlSeconds = DEFAULT_LINK_TTL_SECONDS, next = '/', baseUrl } = request.body;
    const { token, expiresAtSeconds } = links.mint(colour, ttlSeconds);
    const path = `${links.path}?${new URLSearchParams({ token, next }).toString()}`;
    reply.code(201);
    return {
      colour,
      expiresAt: new Date(expiresAtSeconds * 1000).toISOString(),
      token,
      path,
      ...(baseUrl === undefined ? {} : { link: baseUrl.replace(/\/$/, '') + path }),
      cookie: { name: links.cookie, value: token, setCookie: `${links.cookie}=${token}; Path=/; Max-Age=${ttlSeconds}; HttpOnly; SameSite=Lax` },
      header: { name: links.header, value: token },
    };
  });
}
