import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connect } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { BoundedRecoveryAdapter } from './bounded-recovery-adapter.js';

const GRACE_MS = 1000;
let close: (() => Promise<void>) | undefined;

afterEach(async () => {
  await close?.();
  close = undefined;
});

/** The buffer socket.io keeps for recovery (a private field of its SessionAwareAdapter). */
const buffered = (server: Server) => (server.of('/').adapter as unknown as { packets: unknown[] }).packets.length;

describe('BoundedRecoveryAdapter', () => {
  it('keeps emitted events for the grace period, then drops them (not a minute later)', async () => {
    const http = createServer();
    const server = new Server(http, {
      adapter: BoundedRecoveryAdapter,
      connectionStateRecovery: { maxDisconnectionDuration: GRACE_MS },
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const client = connect(`http://127.0.0.1:${(http.address() as AddressInfo).port}`, { transports: ['websocket'] });
    close = async () => {
      client.disconnect();
      await server.close();
    };
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));

    for (let i = 0; i < 100; i++) server.emit('tick', i);
    expect(buffered(server)).toBe(100);
    // Grace plus one trim interval, with margin: the stock adapter would still hold all 100.
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS + 1500));
    expect(buffered(server)).toBe(0);
  });
});
