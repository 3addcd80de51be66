/**
 * The client's address behind real proxies (CLIENT_IP_HEADER, TRUST_PROXY), and that logs never
 * show it. Every client binds its own loopback address (127.0.0.2, 127.0.0.3, …), so a proxy in
 * front of a real server sees them as different users, the way Fly.io's edge sees the internet.
 */
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type PairwireApp } from '../src/app.js';
import { type Config, configWith, loadConfig } from '../src/config.js';
import { MemoryPairingStore } from '../src/store/memory-store.js';
import { appendForwardedFor, type EdgeProxy, flyHeaders, startEdgeProxy } from './helpers/edge-proxy.js';

/** The [env] section of fly.toml, as the machine's environment. */
function flyTomlEnv(): Record<string, string> {
  const toml = readFileSync(new URL('../fly.toml', import.meta.url), 'utf8');
  const section = /^\[env\]\n([\s\S]*?)(?=^\[)/m.exec(toml)?.[1] ?? '';
  return Object.fromEntries([...section.matchAll(/^\s*([A-Z_]+)\s*=\s*"([^"]*)"/gm)].map(([, k, v]) => [k, v]));
}

type Attempt = 'connected' | { message: string; data?: unknown };

describe('client address', () => {
  let app: PairwireApp | undefined;
  let proxy: EdgeProxy | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.disconnect();
    await proxy?.close();
    await app?.close();
    app = proxy = undefined;
  });

  async function serve(config: Config, logger = pino({ level: 'silent' })): Promise<string> {
    app = createApp({ ...config, logLevel: 'silent' }, { logger, store: new MemoryPairingStore() });
    const { port } = await app.listen(0, '127.0.0.1');
    return `http://127.0.0.1:${port}`;
  }

  /** One socket.io connection attempt from loopback address `from`: 'connected' or the refusal. */
  function attempt(
    url: string,
    from = '127.0.0.1',
    options: { headers?: Record<string, string>; polling?: boolean } = {},
  ): Promise<Attempt> {
    const settings: Partial<ManagerOptions & SocketOptions> & { localAddress: string } = {
      transports: [options.polling ? 'polling' : 'websocket'],
      reconnection: false,
      forceNew: true,
      extraHeaders: options.headers ?? {},
      localAddress: from, // passed on to ws (engine.io-client picks it), not in socket.io's types
    };
    const socket = io(url, settings);
    sockets.push(socket);
    return new Promise((resolve) => {
      socket.once('connect', () => resolve('connected'));
      socket.once('connect_error', (err: Error & { data?: unknown }) =>
        resolve({ message: err.message, data: err.data }),
      );
    });
  }

  const user = (n: number) => `127.0.0.${n + 2}`;
  const refused = { data: { code: 'RATE_LIMITED' } };

  describe('behind Fly.io’s proxy', () => {
    it('fly.toml trusts Fly-Client-IP: more users than MAX_CONNECTIONS_PER_IP are all admitted', async () => {
      const config = loadConfig(flyTomlEnv());
      expect(config.clientIpHeader).toBe('fly-client-ip');
      const url = await serve(config);
      const edge = await startEdgeProxy(Number(new URL(url).port), flyHeaders);
      proxy = edge;
      const users = config.maxConnectionsPerIp + 10;
      const results = await Promise.all(Array.from({ length: users }, (_, i) => attempt(edge.url, user(i))));
      expect(results.filter((r) => r !== 'connected')).toEqual([]);
      // Still per address: one user's connections beyond the limit are refused.
      const own = [];
      for (let i = 0; i < config.maxConnectionsPerIp; i++) own.push(await attempt(edge.url, user(0)));
      expect(own.filter((r) => r === 'connected')).toHaveLength(config.maxConnectionsPerIp - 1);
      expect(own.at(-1)).toMatchObject(refused);
    });

    it('without CLIENT_IP_HEADER, hop counting sees every user as the app’s own address', async () => {
      // What fly.toml did before: TRUST_PROXY=1 takes the rightmost X-Forwarded-For entry, which
      // on Fly is the app's address, so the whole internet shares one address's slots.
      const url = await serve(configWith({ trustProxy: 1, maxConnectionsPerIp: 3 }));
      proxy = await startEdgeProxy(Number(new URL(url).port), flyHeaders);
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await attempt(proxy.url, user(i)));
      expect(results.slice(0, 3)).toEqual(['connected', 'connected', 'connected']);
      expect(results[3]).toMatchObject(refused);
    });

    it('polling requests are read the same way, and a client cannot pose as another through the proxy', async () => {
      const url = await serve(configWith({ clientIpHeader: 'fly-client-ip', maxConnectionsPerIp: 1 }));
      proxy = await startEdgeProxy(Number(new URL(url).port), flyHeaders);
      expect(await attempt(proxy.url, user(0))).toBe('connected');
      expect(await attempt(proxy.url, '127.0.0.1', { polling: true })).toBe('connected');
      expect(await attempt(proxy.url, '127.0.0.1', { polling: true })).toMatchObject(refused);
      // Fly's proxy overwrites the header, so forging it gains nothing.
      expect(await attempt(proxy.url, user(0), { headers: { 'fly-client-ip': '198.51.100.9' } })).toMatchObject(
        refused,
      );
    });
  });

  describe('without a proxy', () => {
    it('a client’s own Fly-Client-IP is not trusted unless CLIENT_IP_HEADER names it', async () => {
      const url = await serve(configWith({ maxConnectionsPerIp: 1 }));
      expect(await attempt(url, '127.0.0.1', { headers: { 'fly-client-ip': '198.51.100.1' } })).toBe('connected');
      expect(await attempt(url, '127.0.0.1', { headers: { 'fly-client-ip': '198.51.100.2' } })).toMatchObject(refused);
    });

    it('a header holding anything but one address falls back to the socket address', async () => {
      const url = await serve(configWith({ clientIpHeader: 'fly-client-ip', maxConnectionsPerIp: 1 }));
      expect(await attempt(url, '127.0.0.1', { headers: { 'fly-client-ip': '198.51.100.1, 198.51.100.3' } })).toBe(
        'connected',
      );
      expect(await attempt(url, '127.0.0.1', { headers: { 'fly-client-ip': 'nonsense' } })).toMatchObject(refused);
    });
  });

  describe('behind a proxy that appends to X-Forwarded-For (TRUST_PROXY)', () => {
    it('counts each client by the address the proxy saw, whatever the client wrote further left', async () => {
      const url = await serve(configWith({ trustProxy: 1, maxConnectionsPerIp: 1 }));
      proxy = await startEdgeProxy(Number(new URL(url).port), appendForwardedFor);
      for (let i = 0; i < 4; i++) expect(await attempt(proxy.url, user(i))).toBe('connected');
      const forged = (n: number) => ({ headers: { 'x-forwarded-for': `198.51.100.${n}` } });
      expect(await attempt(proxy.url, user(0), forged(1))).toMatchObject(refused);
      expect(await attempt(proxy.url, user(1), forged(2))).toMatchObject(refused);
    });
  });

  describe('logs', () => {
    it('name no client address: refusals and abusive clients are tagged with a keyed hash instead', async () => {
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk, _encoding, done) {
          lines.push(...String(chunk).split('\n').filter(Boolean));
          done();
        },
      });
      const address = '198.51.100.23';
      const url = await serve(
        configWith({ trustProxy: 1, maxConnectionsPerIp: 1, candidatesPerSecond: 1, abuseStrikes: 1 }),
        pino({ level: 'trace' }, sink),
      );
      const from = { headers: { 'x-forwarded-for': address } };
      expect(await attempt(url, '127.0.0.1', from)).toBe('connected');
      expect(await attempt(url, '127.0.0.1', from)).toMatchObject(refused);
      // The connected one floods until it is cut off.
      const flooder = sockets[0];
      const gone = new Promise((resolve) => flooder?.once('disconnect', resolve));
      for (let i = 0; i < 20; i++) flooder?.emit('junk', i);
      await gone;

      const refusal = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'connection refused');
      const abuse = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'disconnecting an abusive client');
      expect(refusal).toMatchObject({ address: expect.stringMatching(/^[\w-]{8,}$/) });
      // The same address gets the same tag, so an operator can still see one address behind many refusals.
      expect(abuse).toMatchObject({ address: refusal.address });
      for (const line of lines) {
        expect(line).not.toContain(address);
        expect(line).not.toContain('127.0.0.1');
      }
    });
  });
});
