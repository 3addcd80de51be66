/**
 * Memory grows with the number of sessions, never with the rate of signals: one address staying
 * inside every documented limit (its 50 connections at their budgets, the largest signals allowed)
 * cannot push the server past a 256 MB heap. The outboxes hold what each client has not yet
 * acknowledged (about half a second of its traffic), nothing process-wide and nothing grace-long.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SignalingClient } from '../src/client/index.js';
import { configWith } from '../src/config.js';
import { type ServerProcess, spawnServer } from './helpers/process.js';

const PAIRS = 25;
const SECONDS = 30;
const defaults = configWith();

describe('memory under load from one address', () => {
  let server: ServerProcess | undefined;
  const clients: SignalingClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await server?.stop('SIGKILL');
    server = undefined;
  });

  it(
    `50 connections at their budgets with the largest signals for ${SECONDS} s stay under a 256 MB heap`,
    async () => {
      server = await spawnServer({ NODE_OPTIONS: '--max-old-space-size=256' });
      const url = server.url;
      for (let i = 0; i < 2 * PAIRS; i++) {
        clients.push(new SignalingClient(url, { socket: { reconnection: false }, ackTimeoutMs: 20_000 }));
      }
      await Promise.all(clients.map((client) => client.once('paired', 20_000)));
      expect(clients.length).toBe(defaults.maxConnectionsPerIp);

      const received = clients.map(() => 0);
      clients.forEach((client, i) => {
        client.on('signal', () => {
          received[i] = (received[i] ?? 0) + 1;
        });
      });
      // The largest offer a frame can carry: control characters, each escaped to six bytes on the wire.
      const sdp = '\u0001'.repeat(Math.floor((defaults.maxFrameBytes - 100) / 6));
      const line = `candidate:1 1 udp 2122260223 10.0.0.1 ${'9'.repeat(defaults.maxCandidateBytes - 48)} typ host`;

      // Each client sends at its budgets: offers (SDP_PER_SECOND) and candidates (CANDIDATES_PER_SECOND).
      const until = Date.now() + SECONDS * 1000;
      const senders = clients.map(async (client) => {
        let n = 0;
        while (Date.now() < until && client.socket.connected) {
          const tick = Date.now();
          const batch = [client.signal({ type: 'offer', sdp })];
          for (let c = 0; c < defaults.candidatesPerSecond / defaults.sdpPerSecond; c++) {
            batch.push(client.signal({ type: 'candidate', candidate: { candidate: line, sdpMid: String(n++ % 10) } }));
          }
          await Promise.all(batch);
          await new Promise((resolve) =>
            setTimeout(resolve, Math.max(0, 1000 / defaults.sdpPerSecond - (Date.now() - tick))),
          );
        }
      });
      await Promise.all(senders);

      // Alive (a heap past its cap kills the process), still serving, and the load was real.
      expect(server.child.exitCode).toBeNull();
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect(clients.every((client) => client.socket.connected)).toBe(true);
      const perClient = received.reduce((a, b) => a + b, 0) / clients.length;
      expect(perClient).toBeGreaterThan(SECONDS * defaults.sdpPerSecond);
    },
    (SECONDS + 60) * 1000,
  );
});
