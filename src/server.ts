/**
 * The long-lived entrypoint (`npm start`, Docker, Fly.io): read config, build, listen, and on
 * SIGTERM/SIGINT close gracefully. No logic belongs here.
 */
import { createApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';

try {
  const config = loadConfig();
  const app = createApp(config);
  const address = await app.listen();
  app.logger.info({ port: address.port, host: address.address }, 'pairwire listening');

  const shutdown = (signal: NodeJS.Signals) => {
    app.logger.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`pairwire: invalid configuration: ${error.message}`);
    process.exit(78); // EX_CONFIG
  }
  throw error;
}
