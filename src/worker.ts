// A data-plane worker process (CONTRACT §7), forked by workers/supervisor.ts. It builds what the
// per-request path needs and nothing else: the colour pools, the proxy and preview listeners, the
// snapshot it routes by (received over IPC and acked), and a DeltaRecorder that sends per-second
// telemetry up. No admin API, no state store, no health checks, no rollout timer: the control
// plane owns those. Entry point only; run by the supervisor, never by hand.
import type http from 'node:http';
import type { AddressInfo, ListenOptions } from 'node:net';
import pino from 'pino';
import { systemClock } from './domain.ts';
import { AppliedSnapshot } from './channels/applied.ts';
import { DeltaRecorder } from './channels/delta-recorder.ts';
import { IpcDataPlaneChannel, type IpcEndpoint } from './channels/ipc.ts';
import { makeListeners, makeServicePools, type ProxyServer } from './compose.ts';
import { servicesOf } from './config/services.ts';
import { loadListenerCertificates } from './tls/listeners.ts';
import { drainServers } from './workers/drain.ts';
import { lifecycleMessage, type Endpoint, type FromWorker, type InitMessage, type ListenMode } from './workers/protocol.ts';
import { pinTickObjectShape } from './runtime/tick-shape.ts';

pinTickObjectShape();

/** `process` as an IPC endpoint whose send never throws once the control plane is gone. */
const parent: IpcEndpoint = {
  send(message) {
    if (!process.connected || process.send === undefined) return false;
    try {
      return process.send(message);
    } catch {
      return false;
    }
  },
  on(event, listener) {
    return process.on(event, listener);
  },
};

function tell(message: FromWorker, then?: () => void): void {
  if (!process.connected || process.send === undefined) return then?.();
  process.send(message, undefined, {}, () => then?.());
}

/** Tells the supervisor why this worker cannot start, then exits 1 (once the message is out). */
function fail(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  tell({ t: 'turnout.failed', message }, () => process.exit(1));
  // If the channel is gone, exit anyway.
  setTimeout(() => process.exit(1), 1000).unref();
}

function listen(server: ProxyServer, at: Endpoint, mode: ListenMode): Promise<number> {
  // reuseport: every worker binds its own socket and the kernel spreads connections (Linux
  // SO_REUSEPORT); `exclusive` keeps node:cluster from routing the listen through the primary.
  // shared: node:cluster's shared handle, where the primary accepts and passes connections.
  const options: ListenOptions = mode === 'reuseport' ? { host: at.host, port: at.port, reusePort: true, exclusive: true } : { host: at.host, port: at.port };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

async function start(init: InitMessage): Promise<void> {
  const { config, id } = init;
  const logger = pino({ name: 'turnout', base: { worker: id } });
  const clock = systemClock;
  const channel = new IpcDataPlaneChannel(parent, id);
  // CONTRACT §10: per service its pools, the snapshot it routes by and its telemetry deltas (each
  // keyed by service, so the control plane's merger routes them to the service's windows).
  const services = servicesOf(config).map((service) => {
    const pools = makeServicePools(config, service.upstreams, clock, (target, available, why) =>
      logger[available ? 'info' : 'warn']({ service: service.name, colour: target.colour, target: target.url, available }, `target ${available ? 'available' : 'unavailable'}: ${why}`),
    );
    const applied = new AppliedSnapshot({ service: service.name, pools });
    const recorder = new DeltaRecorder({ from: id, service: service.name, targets: { blue: pools.blue.targets, green: pools.green.targets }, publisher: channel });
    return { service, pools, applied, recorder };
  });
  // One subscriber (one ack per message), handing each message to its service's snapshot.
  const byService = new Map(services.map((s) => [s.service.name, s.applied]));
  // Routed by the control plane's state from the very first request: every service's snapshot.
  const firstSnapshot = new Promise<void>((resolve) => {
    channel.subscribe((message) => {
      byService.get(message.service)?.apply(message);
      if (services.every((s) => s.applied.routing !== undefined)) resolve();
    });
  });
  // Each worker reads the certificate files itself (the control plane checked them at start).
  const certificates = loadListenerCertificates(config, 'config');
  const { proxy, preview, tls } = makeListeners(config, {
    services: services.map((s) => ({ service: s.service, pools: s.pools, getSnapshot: () => s.applied.routing!, recorder: s.recorder })),
    clock,
    logger,
    certificates,
  });
  process.on('SIGHUP', () => {
    for (const outcome of tls.map((l) => l.reload())) (outcome.ok ? logger.info(outcome.message) : logger.error(outcome.message));
  });

  // Per-second telemetry, on second boundaries so each delta covers one wall-clock second.
  let flushTimer: NodeJS.Timeout | undefined;
  const scheduleFlush = () => {
    flushTimer = setTimeout(() => {
      for (const s of services) s.recorder.flush();
      scheduleFlush();
    }, 1000 - (Date.now() % 1000) + 2);
  };
  scheduleFlush();

  // Routed by the control plane's state from the very first request.
  await firstSnapshot;
  const proxyPort = await listen(proxy, init.proxy, init.mode);
  const previewPort = preview && init.preview ? await listen(preview, init.preview, init.mode) : null;

  let draining = false;
  const drain = () => {
    if (draining) return;
    draining = true;
    void drainServers([proxy, preview].filter((s): s is ProxyServer => s !== null), config.shutdown.drainSeconds, () =>
      logger.warn(`drain: still busy after ${config.shutdown.drainSeconds}s, closing remaining connections`),
    ).then(async () => {
      clearTimeout(flushTimer);
      // The last requests, counted in the second they finished in.
      for (const s of services) s.recorder.flush(Math.floor(Date.now() / 1000));
      await Promise.all(services.flatMap((s) => [s.pools.blue.close(), s.pools.green.close()]));
      // Exit once the channel has delivered the final delta (IPC keeps message order).
      tell({ t: 'turnout.drained' }, () => process.exit(0));
    });
  };
  process.on('message', (raw) => {
    if (lifecycleMessage(raw, 'turnout.drain')) drain();
  });
  // The control plane is gone (killed): nobody routes our state any more; drain and go.
  process.on('disconnect', drain);
  // Ctrl-C reaches the whole process group: the control plane gets it too and drains every
  // worker itself, so a worker ignores it. A SIGTERM may be for this worker alone: drain.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', drain);

  tell({ t: 'turnout.ready', proxyPort, previewPort });
}

if (process.send === undefined) {
  process.stderr.write('turnout: worker.js is started by `turnout serve` with workers > 1, not by hand\n');
  process.exit(2);
}
process.once('message', (raw) => {
  const init = lifecycleMessage<InitMessage>(raw, 'turnout.init');
  if (init === undefined) return fail(new Error('the first message was not turnout.init'));
  start(init).catch(fail);
});
// Messages that arrive before a listener exists are dropped, and an ES module's listeners exist
// only once it has loaded: say so, and only then does the supervisor send anything.
tell({ t: 'turnout.hello' });
