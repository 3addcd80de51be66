import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { startRedis } from './helpers/redis.js';

describe('test redis-server helper', () => {
  it('starts a real redis-server, stops it, and starts it again on the same port', async () => {
    const server = await startRedis();
    const client = new Redis(server.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true });
    try {
      await client.connect();
      expect(await client.ping()).toBe('PONG');
      await server.stop();
      await expect(client.ping()).rejects.toThrow();
      await server.start();
      const again = new Redis(server.url, { lazyConnect: true });
      await again.connect();
      expect(await again.set('k', 'v')).toBe('OK');
      again.disconnect();
    } finally {
      client.disconnect();
      await server.stop();
    }
  });
});
