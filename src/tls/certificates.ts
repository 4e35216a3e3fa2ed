// Certificate loading for a TLS listener (CONTRACT §8): read the PEM files named in `<listener>.tls`,
// check that each key matches its certificate and that the certificate is valid now, and build the
// secure contexts (one default, one per SNI entry). Used at start (a problem is a config error
// naming the field and the file, before anything listens) and on SIGHUP (a problem is a refusal:
// the caller logs it and keeps the contexts in force).
import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey, constants as cryptoConstants } from 'node:crypto';
import tls from 'node:tls';
import type { TlsConfig } from '../config/types.ts';

/**
 * What every secure context of a listener shares: TLS 1.2 at least (RFC 9325 §3.1.1; 1.0/1.1 are
 * deprecated by RFC 8996), Node's default cipher list (no `ciphers` given), and no renegotiation
 * (RFC 9113 §9.2.1 forbids it under HTTP/2; under 1.2 it is a known DoS lever, CVE-2011-1473).
 */
export const TLS_BASE: tls.SecureContextOptions = Object.freeze({
  minVersion: 'TLSv1.2',
  secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION,
});

/** A problem with one file: `path` is the config field (`listen.tls.cert`). */
export interface CertificateIssue {
  readonly path: string;
  readonly message: string;
}

export class CertificateError extends Error {
  readonly issues: readonly CertificateIssue[];
  constructor(issues: readonly CertificateIssue[]) {
    super(issues.map((i) => `${i.path}: ${i.message}`).join('; '));
    this.name = 'CertificateError';
    this.issues = issues;
  }
}

/** One certificate and key, read and checked. */
export interface KeyPair {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The leaf's notAfter, for logs. */
  readonly validTo: Date;
}

/** Everything a listener serves: the default pair and the SNI contexts by name. */
export interface LoadedCertificates {
  readonly defaultPair: KeyPair;
  /** Exact names and `*.domain` wildcards (lower-case) → context. */
  readonly byName: ReadonlyMap<string, tls.SecureContext>;
}

/**
 * Reads and checks every pair of `tls` (the config at `field`, e.g. `listen.tls`). Throws a
 * CertificateError listing every problem (each naming its field and file); never half-loads.
 */
export function loadCertificates(tlsConfig: TlsConfig, field: string, now: Date = new Date()): LoadedCertificates {
  const issues: CertificateIssue[] = [];
  const defaultPair = readPair(tlsConfig.cert, tlsConfig.key, field, now, issues);
  const byName = new Map<string, tls.SecureContext>();
  tlsConfig.certificates.forEach((entry, i) => {
    const at = `${field}.certificates[${i}]`;
    const pair = readPair(entry.cert, entry.key, at, now, issues);
    if (pair === undefined) return;
    const context = secureContext(pair, at, issues);
    if (context === undefined) return;
    for (const name of entry.names) if (!byName.has(name)) byName.set(name, context);
  });
  if (defaultPair !== undefined) secureContext(defaultPair, field, issues); // what createSecureServer would throw
  if (issues.length > 0 || defaultPair === undefined) throw new CertificateError(issues);
  return { defaultPair, byName };
}

function readPair(certFile: string, keyFile: string, field: string, now: Date, issues: CertificateIssue[]): KeyPair | undefined {
  const cert = readFile(certFile, `${field}.cert`, issues);
  const key = readFile(keyFile, `${field}.key`, issues);
  if (cert === undefined || key === undefined) return undefined;
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert); // the first certificate of the PEM: the leaf
  } catch (err) {
    issues.push({ path: `${field}.cert`, message: `${certFile}: not a PEM certificate (${reason(err)})` });
    return undefined;
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    issues.push({ path: `${field}.key`, message: `${keyFile}: not a PEM private key, or encrypted (${reason(err)})` });
    return undefined;
  }
  if (!x509.checkPrivateKey(privateKey)) {
    issues.push({ path: `${field}.key`, message: `${keyFile}: does not match the certificate in ${certFile}` });
    return undefined;
  }
  const validTo = new Date(x509.validTo);
  const validFrom = new Date(x509.validFrom);
  if (validTo.getTime() <= now.getTime()) {
    issues.push({ path: `${field}.cert`, message: `${certFile}: expired on ${validTo.toISOString()}` });
    return undefined;
  }
  if (validFrom.getTime() > now.getTime()) {
    issues.push({ path: `${field}.cert`, message: `${certFile}: not valid before ${validFrom.toISOString()}` });
    return undefined;
  }
  return { cert, key, validTo };
}

function readFile(file: string, field: string, issues: CertificateIssue[]): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (err) {
    issues.push({ path: field, message: `${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? reason(err)})` });
    return undefined;
  }
}

function secureContext(pair: KeyPair, field: string, issues: CertificateIssue[]): tls.SecureContext | undefined {
  try {
    return tls.createSecureContext({ ...TLS_BASE, cert: pair.cert, key: pair.key });
  } catch (err) {
    issues.push({ path: `${field}.cert`, message: `cannot be used (${reason(err)})` });
    return undefined;
  }
}

/** The context for an SNI server name: an exact entry, else a `*.` entry one label up (RFC 6125 §6.4.3). */
export function contextFor(byName: ReadonlyMap<string, tls.SecureContext>, servername: string): tls.SecureContext | undefined {
  if (byName.size === 0 || servername.length === 0) return undefined;
  const name = servername.toLowerCase();
  const exact = byName.get(name);
  if (exact !== undefined) return exact;
  const dot = name.indexOf('.');
  return dot > 0 ? byName.get(`*${name.slice(dot)}`) : undefined;
}

function reason(err: unknown): string {
  return (err as Error).message?.split('\n')[0] ?? String(err);
}
