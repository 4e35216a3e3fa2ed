// `turnout serve --config FILE`: load and validate the config (exit non-zero before listening on
// any error), build the app, listen, and drain on SIGTERM/SIGINT.
import { loadConfigFile } from './config/load.ts';
import type { TurnoutConfig } from './config/types.ts';
import { buildApp, type AppOptions, type TurnoutApp } from './app.ts';
import { pinTickObjectShape } from './runtime/tick-shape.ts';

/** Exit codes: 0 clean shutdown, 2 invalid config, 3 unreadable state, 1 anything else. */
export const EXIT_CONFIG = 2;
export const EXIT_STATE = 3;

export async function runServe(configPath: string): Promise<void> {
  let config: TurnoutConfig;
  try {
    config = loadConfigFile(configPath);
  } catch (err) {
    process.stderr.write(`turnout: ${(err as Error).message}\n`);
    process.exit(EXIT_CONFIG);
  }
  const app = await startApp(config, { configSource: configPath });
  const a = await app.listenResult;
  app.app.logger.info(`proxy ${a.proxy}${a.preview ? `, preview ${a.preview}` : ''}, admin ${a.admin}`);
}

/** Builds and starts the app with signal handling; shared by `serve` and the demo. */
export async function startApp(config: TurnoutConfig, options: AppOptions = {}): Promise<{ app: TurnoutApp; listenResult: ReturnType<TurnoutApp['listen']> }> {
  pinTickObjectShape(); // also for the demo; a no-op after `serve` pinned it
  let app: TurnoutApp;
  try {
    app = await buildApp(config, options);
  } catch (err) {
    const e = err as Error & { code?: string };
    process.stderr.write(`turnout: ${e.message}\n`);
    process.exit(e.code === 'TURNOUT_ERR_STATE_UNREADABLE' ? EXIT_STATE : e.code === 'TURNOUT_ERR_CONFIG' ? EXIT_CONFIG : 1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.logger.info(`${signal}: draining (at most ${config.shutdown.drainSeconds}s)`);
    app.close().then(
      () => {
        app.logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        app.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Re-read TLS certificate files (CONTRACT §8); established connections keep theirs.
  process.on('SIGHUP', () => void app.reloadCertificates());
  const listenResult = app.listen();
  listenResult.catch((err: Error) => {
    process.stderr.write(`turnout: cannot listen: ${err.message}\n`);
    process.exit(1);
  });
  return { app, listenResult };
}
