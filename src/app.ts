import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { SignalingCore } from './core/signaling-core.js';
import { assembleOnHttpServer, type PairwireDeps } from './embed/pairwire.js';
import type { PairingStore } from './store/pairing-store.js';
import type { SignalingServer } from './transports/socketio/types.js';

/** What the composition root may be handed instead of building it from config. */
export type AppDeps = Omit<PairwireDeps, 'demo'>;

export interface PairwireApp {
  readonly express: Express;
  readonly http: HttpServer;
  readonly io: SignalingServer;
  readonly core: SignalingCore;
  readonly store: PairingStore;
  readonly logger: Logger;
  /** Starts listening (defaults: config.port and config.host); resolves with the bound address. */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /** Disconnects every client, stops the HTTP server and closes the store; safe to call twice. */
  close(): Promise<void>;
}

/**
 * The standalone server: an HTTP server of its own with pairwire attached to it (src/embed, the
 * API embedders use too), its routes and the demo page at the root.
 */
export function createApp(config: Config, deps: AppDeps = {}): PairwireApp {
  const app = express();
  app.disable('x-powered-by');
  // The request handler is in place before socket.io attaches (it passes every other request on).
  const http = createServer(app);
  const pairwire = assembleOnHttpServer(http, config, { ...deps, demo: true });
  app.use(pairwire.routes);

  let closing: Promise<void> | undefined;
  return {
    express: app,
    http,
    io: pairwire.io,
    core: pairwire.core,
    store: pairwire.store,
    logger: pairwire.logger,
    listen(port = config.port, host = config.host) {
      return new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          http.off('error', reject);
          resolve(http.address() as AddressInfo);
        });
      });
    },
    close() {
      closing ??= (async () => {
        // Past the drain budget, cut whatever is still open rather than hang the shutdown.
        const deadline = setTimeout(() => http.closeAllConnections(), config.shutdownTimeoutMs);
        deadline.unref();
        // No new connections from now on; resolves once the open ones are gone (or at once if it never listened).
        const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
        try {
          await pairwire.close();
          await stopped;
        } finally {
          clearTimeout(deadline);
        }
      })();
      return closing;
    },
  };
}
