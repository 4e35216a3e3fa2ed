// One registry of coded errors (fastify's lib/errors.js pattern): every code in it is well
// formed and used, every code the sources raise is in it, and the public JSON never carries a cause.
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ERRORS, TurnoutError, type ErrorCode } from '../../src/errors.ts';

const SRC = resolve(import.meta.dirname, '../../src');
const sources = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') && !p.endsWith('errors.ts') ? [readFileSync(p, 'utf8')] : [];
  });

t.test('registry entries are well formed', async (t) => {
  for (const [key, d] of Object.entries(ERRORS)) {
    t.equal(d.code, key, `${key}: code matches its key`);
    t.match(key, /^TURNOUT_ERR_[A-Z_]+$/);
    t.ok(d.statusCode >= 400 && d.statusCode < 600, `${key}: an HTTP error status`);
    t.ok(d.error.length > 0 && d.message.length > 0, `${key}: has a reason phrase and a message`);
  }
});

t.test('codes used in src/ and codes in the registry are the same set', async (t) => {
  const text = sources(SRC).join('\n');
  const used = new Set([...text.matchAll(/TURNOUT_ERR_[A-Z_]+/g)].map((m) => m[0]));
  t.same([...used].filter((c) => !(c in ERRORS)).sort(), [], 'no unregistered code is raised');
  t.same(Object.keys(ERRORS).filter((c) => !used.has(c)).sort(), [], 'no registered code is dead');
});

t.test('TurnoutError carries the status and hides its cause from JSON', async (t) => {
  const code: ErrorCode = 'TURNOUT_ERR_BAD_GATEWAY';
  const err = new TurnoutError(code, undefined, { cause: new Error('connect ECONNREFUSED 10.0.0.1:3000') });
  t.equal(err.statusCode, 502);
  t.same(err.toJSON(), { statusCode: 502, code, error: 'Bad Gateway', message: ERRORS[code].message });
  t.notMatch(JSON.stringify(err), /ECONNREFUSED|10\.0\.0\.1/);
  t.ok(err.cause, 'the cause stays on the error for logs');
});
