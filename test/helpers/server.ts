import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';
import { type AppDeps, createApp, type PairwireApp } from '../../src/app.js';
import { SignalingClient, type SignalingClientOptions } from '../../src/client/index.js';
import { type Config, configWith } from '../../src/config.js';
import type { ServerEvents } from '../../src/protocol/messages.js';

/**
 * Every test client comes from 127.0.0.1, mostly without a device token, so with one subject:
 * per-address limits are raised and the skip-rate ban is off unless a test sets its own.
 */
export const LOAD_FROM_ONE_ADDRESS = {
  maxConnectionsPerIp: 100_000,
  connectionsPerMinutePerIp: 100_000,
  autoBanSkipsPerMinute: 0,
};

export interface TestServer {
  app: PairwireApp;
  url: string;
  /** A connected client that records every server event it receives; closed by `close()`. */
  connect(options?: SignalingClientOptions): Promise<RecordingClient>;
  /** What the server logged at the test's `logLevel` (silent unless it asks), one JSON line each. */
  log(): string[];
  close(): Promise<void>;
}

/** Starts a real server on a free 127.0.0.1 port; `close()` stops it and every client it made. */
export async function startServer(overrides: Partial<Config> = {}, deps: AppDeps = {}): Promise<TestServer> {
  // No `stats` events unless a test asks (statsEventMs): they come on a clock, and tests compare
  // the events they received.
  const config = configWith({ logLevel: 'silent', statsEventMs: 0, ...LOAD_FROM_ONE_ADDRESS, ...overrides });
  const log: string[] = [];
  const app = createApp(config, { logger: testLogger(config.logLevel, log), ...deps });
  const { port } = await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${port}`;
  const clients: RecordingClient[] = [];
  return {
    app,
    url,
    async connect(options) {
      const client = new RecordingClient(url, options);
      clients.push(client);
      await client.connected();
      return client;
    },
    log: () => log,
    async close() {
      for (const client of clients) client.close();
      await app.close();
    },
  };
}

/**
 * A test server never writes its log to stdout (`npm test` would print it between the results):
 * it keeps it in memory, for `server.log()`. To watch every test server's log while rerunning a
 * failing test, set PAIRWIRE_TEST_LOG to a pino level: it then goes to stderr, at that level.
 */
function testLogger(level: string, lines: string[]): Logger {
  const shown = process.env.PAIRWIRE_TEST_LOG;
  if (shown) return pino({ level: shown }, pino.destination(2));
  const memory = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return pino({ level }, memory);
}

export type Received = { [E in keyof ServerEvents]: { event: E; payload: ServerEvents[E] } }[keyof ServerEvents];

/** A SignalingClient that keeps a log of everything the server sent it. */
export class RecordingClient extends SignalingClient {
  readonly received: Received[] = [];
  #waiters: Array<() => boolean> = [];

  /** Reconnection is off unless asked for, so a test decides whether a dropped client comes back. */
  constructor(url: string, options: SignalingClientOptions = {}) {
    super(url, { ackTimeoutMs: 5000, ...options, socket: { reconnection: false, ...options.socket } });
    this.socket.onAny((event: string, payload: unknown) => {
      this.received.push({ event, payload } as Received);
      this.#waiters = this.#waiters.filter((settled) => !settled());
    });
  }

  /** The `n`-th (0-based) `event` received, now or when it arrives; rejects after `timeoutMs`. */
  nth<E extends keyof ServerEvents>(event: E, n: number, timeoutMs = 5000): Promise<ServerEvents[E]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        settled = () => true;
        reject(
          new Error(
            `event "${event}" #${n} not received within ${timeoutMs} ms; got ${JSON.stringify(this.received.map((r) => (r.event === 'error' ? r : r.event)))}`,
          ),
        );
      }, timeoutMs);
      let settled = (): boolean => {
        const found = this.all(event)[n];
        if (found === undefined) return false;
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      if (!settled()) this.#waiters.push(() => settled());
    });
  }

  /** Cuts the connection under the client, as a network drop would: no goodbye reaches the server. */
  drop(): void {
    this.socket.io.engine.close();
  }

  /** The first `event` received, now or when it arrives. */
  first<E extends keyof ServerEvents>(event: E, timeoutMs = 5000): Promise<ServerEvents[E]> {
    return this.nth(event, 0, timeoutMs);
  }

  /** Every payload of one event, in arrival order. */
  all<E extends keyof ServerEvents>(event: E): ServerEvents[E][] {
    return this.received.filter((r) => r.event === event).map((r) => r.payload as ServerEvents[E]);
  }
}
