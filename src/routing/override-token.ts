// Signed override values: a tester gets `green` for a while without overrides being open to
// everyone (issue 12, item 7). The admin API mints them; the data plane honours one from any
// client while it is valid, where plain `green` is honoured only from routing.override.allowFrom.
//
//   v1.<value>.<expires>.<signature>
//   value     blue | green | canary | stable (resolved per request, as a plain override)
//   expires   Unix seconds
//   signature base64url(HMAC-SHA256(routing.override.secret, "turnout-override.v1.<value>.<expires>"))
//
// Every character is a cookie-octet and a header token character, so the same string works as
// the override cookie and the override header. Pure: the clock is an argument.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type OverrideValue = 'blue' | 'green' | 'canary' | 'stable';
export const OVERRIDE_VALUES: readonly OverrideValue[] = ['blue', 'green', 'canary', 'stable'];

const PREFIX = 'v1.';
/** Longer values are not even hashed: a valid token is about 70 characters. */
const MAX_TOKEN_LENGTH = 128;

function signature(secret: string, value: string, expires: number): Buffer {
  return createHmac('sha256', secret).update(`turnout-override.v1.${value}.${expires}`).digest();
}

export function signOverride(value: OverrideValue, expiresAtSeconds: number, secret: string): string {
  if (secret.length === 0) throw new Error('an override secret is required');
  return `${PREFIX}${value}.${expiresAtSeconds}.${signature(secret, value, expiresAtSeconds).toString('base64url')}`;
}

/** Whether a value looks like a signed token at all (cheap; no hashing). */
export function isSignedForm(value: string): boolean {
  return value.startsWith(PREFIX);
}

/** The override value of a valid, unexpired token; undefined otherwise (never throws). */
export function verifyOverride(token: string, secret: string, nowMs: number): { value: OverrideValue; expiresAtSeconds: number } | undefined {
  if (secret.length === 0 || token.length > MAX_TOKEN_LENGTH || !token.startsWith(PREFIX)) return undefined;
  const parts = token.split('.');
  if (parts.length !== 4) return undefined;
  const [, value, expiresText, sig] = parts as [string, string, string, string];
  if (!(OVERRIDE_VALUES as readonly string[]).includes(value)) return undefined;
  if (!/^\d{1,12}$/.test(expiresText)) return undefined;
  const expires = Number(expiresText);
  if (expires * 1000 <= nowMs) return undefined;
  const given = Buffer.from(sig, 'base64url');
  const expected = signature(secret, value, expires);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  return { value: value as OverrideValue, expiresAtSeconds: expires };
}
