// Drain (CONTRACT §1): stop accepting, let in-flight requests finish within `drainSeconds`, then
// close what is left. The same for the single process and for each worker, so the contract's
// bound holds for the whole: every worker drains in parallel within the same bound.
/** What draining needs of a listener: node:http, node:https and tls/secure-server.ts's servers alike. */
export interface DrainableServer {
  readonly listening: boolean;
  close(callback: () => void): unknown;
  closeIdleConnections(): void;
  closeAllConnections(): void;
}

/** Resolves once every server closed; `onTimeout` is told when connections had to be cut. */
export async function drainServers(servers: readonly DrainableServer[], drainSeconds: number, onTimeout: () => void = () => {}): Promise<void> {
  const listening = servers.filter((s) => s.listening);
  const drained = Promise.all(listening.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  // Keep-alive connections that go idle while draining are closed as they do.
  const sweep = setInterval(() => listening.forEach((s) => s.closeIdleConnections()), 100);
  listening.forEach((s) => s.closeIdleConnections());
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), drainSeconds * 1000);
  });
  if ((await Promise.race([drained, deadline])) === 'timeout') {
    onTimeout();
    listening.forEach((s) => s.closeAllConnections());
    await drained;
  }
  clearTimeout(timer);
  clearInterval(sweep);
}
