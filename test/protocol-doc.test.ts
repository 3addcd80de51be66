/**
 * What docs/protocol.md tells a client author about the order of things, on one instance (the
 * memory store): the server speaks first with `session`, and a command's own events reach the
 * caller before its ack. (With Redis the ack may overtake them; the doc says so.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type RecordingClient, startServer, type TestServer } from './helpers/server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Everything `client` heard from now on, its acks included, in arrival order. */
function timeline(client: RecordingClient) {
  const heard: string[] = [];
  client.socket.onAny((event: string) => heard.push(event));
  return {
    heard,
    async command(name: 'join' | 'next'): Promise<void> {
      const ack = await client[name]();
      heard.push(`${name} ack: ${ack.ok ? ack.status : ack.error.code}`);
    },
  };
}

describe('docs/protocol.md: the order of things', () => {
  it('the server speaks first, with session, then the automatic join', async () => {
    server = await startServer();
    const client = await server.connect();
    await client.first('waiting');
    expect(client.received.map((r) => r.event)).toEqual(['session', 'waiting']);
  });

  it("a command's events reach the caller before its ack: join, and next to a waiting partner", async () => {
    server = await startServer({ autoJoin: false });
    const [a, b, c] = [await server.connect(), await server.connect(), await server.connect()];
    const heard = timeline(a);
    await heard.command('join');
    await b.join();
    await a.first('paired');
    await c.join();
    await heard.command('next');
    expect(heard.heard).toEqual(['waiting', 'join ack: waiting', 'paired', 'paired', 'next ack: paired']);
  });
});
