// Every TLS listener's certificates, loaded once when the app is built: a problem with any of them
// is one config error listing every field and file (CONTRACT §8), before anything listens.
import type { ListenConfig, TurnoutConfig } from '../config/types.ts';
import { ConfigError } from '../config/error.ts';
import { CertificateError, loadCertificates, type LoadedCertificates } from './certificates.ts';

export type ListenerField = 'listen' | 'preview' | 'admin';

export type ListenerCertificates = Readonly<Record<ListenerField, LoadedCertificates | null>>;

export function loadListenerCertificates(config: TurnoutConfig, source: string, now: Date = new Date()): ListenerCertificates {
  const issues: { path: string; message: string }[] = [];
  const load = (field: ListenerField, listen: ListenConfig | null): LoadedCertificates | null => {
    if (listen?.tls == null) return null;
    try {
      return loadCertificates(listen.tls, `${field}.tls`, now);
    } catch (err) {
      if (!(err instanceof CertificateError)) throw err;
      issues.push(...err.issues);
      return null;
    }
  };
  const result = { listen: load('listen', config.listen), preview: load('preview', config.preview), admin: load('admin', config.admin) };
  if (issues.length > 0) throw new ConfigError(source, issues, 'invalid TLS certificates');
  return result;
}
