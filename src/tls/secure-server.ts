// A TLS server for one listener (proxy, preview or admin) and its certificate reload.
// With http2 (the default with tls): node:http2's secure server with allowHTTP1, so ALPN offers
// `h2` and `http/1.1` on one port and an HTTP/1.1 client gets node:http's own parser and semantics.
// Without: node:https. Reload swaps the default context with setSecureContext (new handshakes
// only: established connections and sessions keep theirs) and the SNI map by reference.
import http2 from 'node:http2';
import https from 'node:https';
import type http from 'node:http';
import type tls from 'node:tls';
import type { TLSSocket } from 'node:tls';
import type { TlsConfig } from '../config/types.ts';
import { ProxyH2Response } from './h2-response.ts';
import { contextFor, loadCertificates, TLS_BASE, type LoadedCertificates } from './certificates.ts';

/**
 * HTTP/2 limits (RFC 9113 §6.5.2, §10.5). 100 concurrent streams per session, as Apache httpd and
 * Envoy's recommended edge settings (nghttp2's default is unlimited); header lists of 64 KiB
 * decoded, four times node:http's 16 KiB for HTTP/1.1 since HPACK counts 32 bytes per field.
 * Rapid reset (CVE-2023-44487) and CONTINUATION floods (CVE-2024-27983) are bounded by
 * nghttp2/Node themselves (stream reset rate limit, CONTINUATION cap); test/tls/floods.test.ts
 * pins that the process survives them.
 */
export const H2_SETTINGS: http2.Settings = Object.freeze({ maxConcurrentStreams: 100, maxHeaderListSize: 65536 });

export type RequestListener = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void;

/** The servers a TLS listener can be; node:http2 has closeIdleConnections (for its HTTP/1.1 connections) without @types saying so. */
export type SecureServer = (https.Server | http2.Http2SecureServer) & { closeAllConnections(): void; closeIdleConnections(): void };

export interface ReloadOutcome {
  readonly ok: boolean;
  /** What to log: the new expiry, or why the new pair was refused. */
  readonly message: string;
}

export interface TlsListener {
  readonly server: SecureServer;
  /** The config field of this listener (`listen`, `preview`, `admin`). */
  readonly field: string;
  /** Re-reads the files; installs them only when every pair is good. */
  reload(now?: Date): ReloadOutcome;
}

export interface SecureServerOptions {
  readonly tls: TlsConfig;
  readonly http2: boolean;
  /** The listener's config field, for errors (`listen` → `listen.tls.cert: …`). */
  readonly field: string;
  /** Already loaded (app.ts loads every listener's first, so one error lists them all). */
  readonly certificates: LoadedCertificates;
  readonly h2Settings?: http2.Settings;
  /** The HTTP/2 response class (default ProxyH2Response; the proxy listener extends it). */
  readonly responseClass?: typeof ProxyH2Response;
}

export function createSecureServer(options: SecureServerOptions, onRequest: RequestListener): TlsListener {
  let current = options.certificates;
  const secure: tls.TlsOptions = {
    ...TLS_BASE,
    cert: current.defaultPair.cert,
    key: current.defaultPair.key,
    // Reads `current` per handshake, so a reload swaps SNI certificates with one assignment.
    SNICallback: (servername, cb) => cb(null, contextFor(current.byName, servername)),
  };
  const server = (
    options.http2
      ? http2.createSecureServer({ ...secure, allowHTTP1: true, settings: options.h2Settings ?? H2_SETTINGS, Http2ServerResponse: options.responseClass ?? ProxyH2Response }, onRequest)
      : https.createServer(secure, onRequest as (req: http.IncomingMessage, res: http.ServerResponse) => void)
  ) as SecureServer;

  // node:http2's server has no closeAllConnections (the drain deadline needs it): track sockets.
  if (options.http2) {
    const sockets = new Set<TLSSocket>();
    server.on('secureConnection', (socket: TLSSocket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    server.closeAllConnections = () => {
      for (const socket of sockets) socket.destroy();
    };
  }

  const field = options.field;
  return {
    server,
    field,
    reload(now = new Date()) {
      let next: LoadedCertificates;
      try {
        next = loadCertificates(options.tls, `${field}.tls`, now);
      } catch (err) {
        return { ok: false, message: `${field}.tls: kept the certificates in force: ${(err as Error).message}` };
      }
      server.setSecureContext({ ...TLS_BASE, cert: next.defaultPair.cert, key: next.defaultPair.key });
      current = next;
      return { ok: true, message: `${field}.tls: certificates reloaded (valid until ${next.defaultPair.validTo.toISOString()})` };
    },
  };
}
