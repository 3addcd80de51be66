import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import { type Logger, pino } from 'pino';
import { Server } from 'socket.io';
import type { Config } from './config.js';
import { SignalingCore } from './core/signaling-core.js';
import { healthRoutes } from './http/health.js';
import { MemoryPairingStore } from './store/memory-store.js';
import type { PairingStore } from './store/pairing-store.js';
import { bindSocketIo } from './transports/socketio/connection.js';
import { socketIoDelivery } from './transports/socketio/delivery.js';
import type { SignalingServer } from './transports/socketio/types.js';

/** What the composition root may be handed instead of building it from config. */
export interface AppDeps {
  store?: PairingStore;
  logger?: Logger;
}

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

/** The composition root: builds every service from config and wires them together. */
export function createApp(config: Config, deps: AppDeps = {}): PairwireApp {
  const logger = deps.logger ?? pino({ level: config.logLevel });
  const store = deps.store ?? new MemoryPairingStore();

  const app = express();
  app.disable('x-powered-by');
  app.use(healthRoutes(store));

  const http = createServer(app);
  const io: SignalingServer = new Server(http, {
    serveClient: false,
    maxHttpBufferSize: config.maxFrameBytes,
  });

  const core = new SignalingCore({
    store,
    delivery: socketIoDelivery(io),
    limits: { maxSdpBytes: config.maxSdpBytes, maxCandidateBytes: config.maxCandidateBytes },
    iceServers: () => config.iceServers,
    onInternalError: (err, context) => logger.error({ err, ...context }, 'command failed'),
  });
  bindSocketIo(io, core, { autoJoin: config.autoJoin, maxInFlight: config.maxInFlight });

  let closing: Promise<void> | undefined;

  return {
    express: app,
    http,
    io,
    core,
    store,
    logger,
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
        try {
          await io.close();
        } finally {
          clearTimeout(deadline);
          await store.close();
        }
      })();
      return closing;
    },
  };
}
