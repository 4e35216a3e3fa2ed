// Bearer-token check for every /api/* route (CONTRACT §4). The comparison runs in constant time:
// both sides are hashed to equal-length SHA-256 digests before crypto.timingSafeEqual, so
// neither the token's content nor its length leaks through timing.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TurnoutError } from '../errors.ts';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

export function tokensMatch(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The token of an `Authorization: Bearer <token>` header, or null. The scheme is case-insensitive (RFC 9110 §11.1). */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  return match?.[1] ?? null;
}

/**
 * Whether a request needs the token: any route registered under /api/ (also when reached
 * through an encoded path), and any unmatched path under /api, so an unauthenticated caller
 * cannot probe which API routes exist (it gets 401, not 404).
 */
export function isProtected(request: FastifyRequest): boolean {
  const route = request.routeOptions.url;
  if (route !== undefined && PUBLIC_API_ROUTES.has(route)) return false;
  if (route !== undefined && route.startsWith('/api/')) return true;
  const path = (request.url.split('?')[0] ?? '').replace(/\/{2,}/g, '/').toLowerCase();
  return path === '/api' || path.startsWith('/api/');
}

/** /api routes without a token: the OpenAPI document (openapi.ts) holds nothing secret. */
const PUBLIC_API_ROUTES: ReadonlySet<string> = new Set(['/api/v1/openapi.json']);

/** An onRequest hook for the admin instance. */
export function bearerAuth(expected: string) {
  if (expected.length === 0) throw new TurnoutError('TURNOUT_ERR_CONFIG', 'admin.token: must not be empty');
  return async function checkBearer(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (!isProtected(request)) return;
    const given = bearerToken(request.headers.authorization);
    if (given !== null && tokensMatch(given, expected)) return;
    reply.header('www-authenticate', 'Bearer realm="turnout"');
    throw new TurnoutError('TURNOUT_ERR_UNAUTHORIZED');
  };
}
