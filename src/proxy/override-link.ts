// The proxy side of a signed override link (issue 12, item 7): the admin API mints
//   <public origin>/.well-known/turnout/override?token=<signed value>&next=/path
// and a tester opens it. A valid, unexpired token becomes the override cookie (until the token
// expires) and the answer redirects to `next`; from then on the tester's browser reaches the
// colour the token names, whatever routing.override.allowFrom says. The path is served here only
// when routing.override.secret is set (otherwise it is proxied like any other), under
// /.well-known/ (RFC 8615) so it cannot collide with an application's own paths.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorBody, ERRORS } from '../errors.ts';
import { verifyOverride } from '../routing/override-token.ts';

export const OVERRIDE_LINK_PATH = '/.well-known/turnout/override';

/** True for the link path, with or without a query. */
export function isOverrideLink(url: string): boolean {
  return url.startsWith(OVERRIDE_LINK_PATH) && (url.length === OVERRIDE_LINK_PATH.length || url.charCodeAt(OVERRIDE_LINK_PATH.length) === 0x3f /* ? */);
}

/** Only a local path: `/x`, never `//host` or `/\host` (an open redirect). */
function safeNext(next: string | null): string {
  if (next === null || next.length === 0 || next.length > 2048) return '/';
  if (next.charCodeAt(0) !== 0x2f || next.charCodeAt(1) === 0x2f || next.charCodeAt(1) === 0x5c) return '/';
  return /^[\x21-\x7e]*$/.test(next) ? next : '/';
}

export function overrideLinkHandler(options: { cookie: string; secret: string; now: () => number }): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const query = new URLSearchParams((req.url ?? '').slice(OVERRIDE_LINK_PATH.length + 1));
    const token = query.get('token') ?? '';
    const now = options.now();
    const verified = verifyOverride(token, options.secret, now);
    // The link may come with a body nobody reads; drop it rather than stall the connection.
    req.resume();
    if (verified === undefined) {
      const body = errorBody('TURNOUT_ERR_BAD_REQUEST', 'invalid or expired override link');
      res.writeHead(ERRORS.TURNOUT_ERR_BAD_REQUEST.statusCode, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        'cache-control': 'no-store',
      });
      res.end(body);
      return;
    }
    const maxAge = Math.max(1, verified.expiresAtSeconds - Math.floor(now / 1000));
    res.writeHead(303, {
      location: safeNext(query.get('next')),
      'set-cookie': `${options.cookie}=${token}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax`,
      'cache-control': 'no-store',
      'content-length': 0,
    });
    res.end();
  };
}
