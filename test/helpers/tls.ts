// TLS test helpers: certificates made at test time with openssl (never checked in), a tool check
// that skips locally and fails on CI, and small node:http2 client calls.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import http2 from 'node:http2';
import type { Test } from 'tap';
import { findTool, missingReason, toolsRequired } from './tools.ts';

/**
 * True when `tool` is on PATH (tools.ts findTool). Otherwise: on CI (`CI=true`) the test fails;
 * elsewhere it is skipped with the package to install. Unlike tools.ts requireTool it does not
 * end `t`, so a test may check a tool after assertions of its own.
 */
export function hasTool(t: Test, tool: string, pkg: string): boolean {
  if (findTool(tool) !== undefined) return true;
  const reason = missingReason(tool, pkg);
  if (toolsRequired()) t.fail(`${reason} and CI=true`);
  else t.pass(`skipped: ${reason}`, { skip: `${tool} not installed` });
  return false;
}

export interface CertFiles {
  cert: string;
  key: string;
}

/**
 * A self-signed P-256 certificate for `names` (DNS names; 127.0.0.1 is always an IP SAN) in
 * `dir`. `days` < 0 gives one that has already expired.
 */
export function makeCertificate(dir: string, name: string, options: { names?: string[]; days?: number; cn?: string } = {}): CertFiles {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  const names = options.names ?? ['localhost'];
  const san = [...names.map((n) => `DNS:${n}`), 'IP:127.0.0.1'].join(',');
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key], { stdio: 'ignore' });
  const csr = execFileSync('openssl', ['req', '-new', '-key', key, '-subj', `/CN=${options.cn ?? names[0]}`], { stdio: ['ignore', 'pipe', 'ignore'] });
  const ext = join(dir, `${name}.ext`);
  execFileSync('sh', ['-c', `printf 'subjectAltName=${san}\\n' > '${ext}'`]);
  execFileSync('openssl', ['x509', '-req', '-signkey', key, '-days', String(options.days ?? 30), '-extfile', ext, '-out', cert], { input: csr, stdio: ['pipe', 'ignore', 'ignore'] });
  return { cert, key };
}

/** The subject CN of the certificate a TLS peer presented. */
export function peerCn(cert: { subject?: { CN?: string | string[] } }): string | undefined {
  const cn = cert.subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}

export interface H2Answer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

/** One request on an open session; resolves with the whole answer. */
export function h2Request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string | Buffer): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let responseHeaders: http2.IncomingHttpHeaders = {};
    stream.on('response', (h) => (responseHeaders = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status: Number(responseHeaders[':status']), headers: responseHeaders, body: Buffer.concat(chunks).toString() }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

/** An h2 session to a TLS listener that trusts the test's self-signed certificate. */
export function h2Connect(t: { teardown(fn: () => unknown): void }, url: string, options: http2.SecureClientSessionOptions = {}): http2.ClientHttp2Session {
  const session = http2.connect(url, { rejectUnauthorized: false, ...options });
  session.on('error', () => {});
  t.teardown(() => session.destroy());
  return session;
}
