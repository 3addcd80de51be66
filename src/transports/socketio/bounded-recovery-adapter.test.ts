import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { type Socket as ClientSocket, io as connect } from 'socket.io-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BoundedRecoveryAdapter } from './bounded-recovery-adapter.js';

const GRACE_MS = 1000;
let close: (() => Promise<void>) | undefined;

afterEach(async () => {
  await close?.();
  close = undefined;
});

async function start(graceMs = GRACE_MS) {
  const http = createServer();
  const server = new Server(http, {
    adapter: BoundedRecoveryAdapter,
    connectionStateRecovery: { maxDisconnectionDuration: graceMs },
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const clients: ClientSocket[] = [];
  close = async () => {
    for (const client of clients) client.disconnect();
    await server.close();
  };
  const adapter = server.of('/').adapter as BoundedRecoveryAdapter;
  /** A client whose every event (name and arguments, the offset stripped) is recorded. */
  const client = async (room?: string) => {
    const socket = connect(url, { transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 50 });
    clients.push(socket);
    const received: unknown[][] = [];
    socket.onAny((event: string, ...args: unknown[]) => received.push([event, ...args.slice(0, -1)]));
    const joined = new Promise<ServerSocket>((resolve) =>
      server.once('connection', (s) => {
        if (room) s.join(room);
        resolve(s);
      }),
    );
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    return { socket, received, server: await joined };
  };
  /** Cuts the transport as a network drop would (no goodbye): the server keeps the session. */
  const drop = (socket: ClientSocket) => socket.io.engine.close();
  const reconnected = (socket: ClientSocket) =>
    new Promise<boolean>((resolve) => socket.once('connect', () => resolve(socket.recovered)));
  return { server, adapter, client, drop, reconnected };
}

describe('BoundedRecoveryAdapter', () => {
  it('keeps emitted events for the grace period, then drops them (not a minute later)', async () => {
    const { server, adapter, client } = await start();
    await client();
    for (let i = 0; i < 100; i++) server.emit('tick', i);
    expect(adapter.bufferedEvents).toBe(100);
    // Grace plus one trim interval, with margin: socket.io's own adapter would still hold all 100.
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS + 1500));
    expect(adapter.bufferedEvents).toBe(0);
  });

  it('a client back within the grace gets, in order and once, what was sent to its rooms meanwhile, and nothing else', async () => {
    const { server, client, drop, reconnected } = await start(5000);
    const a = await client('pair');
    const b = await client('pair');
    await client('elsewhere');
    server.to('pair').emit('before', 0);
    await vi.waitFor(() => expect(a.received).toEqual([['before', 0]]));

    const back = reconnected(a.socket);
    // Everything below is sent in the turn the server notices the drop, before the client is back.
    const gone = new Promise((resolve) => a.server.once('disconnect', resolve));
    drop(a.socket);
    await gone;
    server.to('pair').emit('signal', { type: 'offer', sdp: 'v=0\r\n"quoted" \u2028 ü' });
    server.to('elsewhere').emit('signal', { not: 'for a' });
    server
      .to('pair')
      .except(b.server.id)
      .emit('bytes', Buffer.from([1, 2, 3]));
    server.to('pair').except('pair').emit('excluded', 1);
    server.emit('everyone', [1, null, { deep: true }]);
    b.server.emit('direct to b', 1);

    expect(await back).toBe(true);
    await vi.waitFor(() => expect(a.received.length).toBe(4));
    expect(a.received).toEqual([
      ['before', 0],
      ['signal', { type: 'offer', sdp: 'v=0\r\n"quoted" \u2028 ü' }],
      ['bytes', Buffer.from([1, 2, 3])],
      ['everyone', [1, null, { deep: true }]],
    ]);
    // Recovered rooms work as before the drop.
    server.to('pair').emit('after', 1);
    await vi.waitFor(() => expect(a.received.at(-1)).toEqual(['after', 1]));
  });

  it('does not recover a client back after the grace, nor one whose offset another process issued', async () => {
    const { server, client, drop, reconnected } = await start(300);
    const late = await client('pair');
    server.to('pair').emit('tick', 1);
    await vi.waitFor(() => expect(late.received.length).toBe(1));
    const lateBack = reconnected(late.socket);
    late.socket.io.reconnectionDelay(800);
    late.socket.io.reconnectionDelayMax(800);
    drop(late.socket);
    expect(await lateBack).toBe(false);

    const stranger = await client('pair');
    const strangerBack = reconnected(stranger.socket);
    // What a client of an earlier process (or another instance) would hand back.
    (stranger.socket as unknown as { _lastOffset: string })._lastOffset = 'AAAAAAAA.0';
    drop(stranger.socket);
    expect(await strangerBack).toBe(false);
  });
});
