/**
 * pairwire embedded in someone else's app (issue 17, item 1): on a host's HTTP server next to its
 * Express routes, and in namespaces of a host's socket.io server, two instances in one process
 * sharing nothing.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Server } from 'socket.io';
import { io as connectRaw } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { resolveOptions } from '../src/embed/options.js';
import { attachPairwire, attachPairwireNamespace, type Pairwire } from '../src/embed/pairwire.js';
import { ErrorCode } from '../src/protocol/errors.js';
import { LOAD_FROM_ONE_ADDRESS, RecordingClient } from './helpers/server.js';

const OFFER = { type: 'offer', sdp: 'v=0 embedded' } as const;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function listening(server: HttpServer): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

function client(url: string): RecordingClient {
  const c = new RecordingClient(url);
  cleanups.push(() => c.close());
  return c;
}

/** Connects two clients to `url` and waits until both are paired; returns them with their `paired`. */
async function pairAt(url: string) {
  const a = client(url);
  await a.first('waiting');
  const b = client(url);
  const [pa, pb] = await Promise.all([a.first('paired'), b.first('paired')]);
  expect(pa.room).toBe(pb.room);
  return { a, b, pa, pb };
}

describe('attachPairwire: the three-line Express app', () => {
  it('pairs two clients and serves its routes under the mount path; close() leaves the host running', async () => {
    const app = express();
    const server = app.listen(0, '127.0.0.1');
    const pairwire = attachPairwire(server, { logLevel: 'silent', ...LOAD_FROM_ONE_ADDRESS });
    app.use('/pairwire', pairwire.routes);
    app.get('/', (_req, res) => {
      res.send('the host');
    });
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    cleanups.push(() => pairwire.close());
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const { a, b } = await pairAt(url);
    expect((await a.signal(OFFER)).ok).toBe(true);
    expect(await b.first('signal')).toEqual(OFFER);
    expect(await (await fetch(`${url}/pairwire/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${url}/`)).text()).toBe('the host');

    const gone = new Promise((resolve) => a.socket.once('disconnect', resolve));
    await pairwire.close();
    await gone;
    // The host's server and routes outlive pairwire; pairwire takes no new client.
    expect(await (await fetch(`${url}/`)).text()).toBe('the host');
    const late = connectRaw(url, { transports: ['websocket'], reconnection: false });
    cleanups.push(() => late.close());
    await new Promise((resolve) => late.once('connect_error', resolve));
  });

  it("takes a socket.io path of the host's choosing", async () => {
    const app = express();
    const server = createServer(app);
    const pairwire = attachPairwire(server, { logLevel: 'silent', ...LOAD_FROM_ONE_ADDRESS, path: '/signaling' });
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    cleanups.push(() => pairwire.close());
    const url = await listening(server);
    const a = new RecordingClient(url, { socket: { path: '/signaling' } });
    const b = new RecordingClient(url, { socket: { path: '/signaling' } });
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
    const [pa, pb] = await Promise.all([a.first('paired'), b.first('paired')]);
    expect(pa.room).toBe(pb.room);
  });
});

describe('attachPairwireNamespace: two instances in one socket.io server', () => {
  async function host() {
    const http = createServer();
    const io = new Server(http);
    cleanups.push(() => io.close());
    const url = await listening(http);
    return { io, url };
  }

  function embed(io: Server, namespace: string, options = {}): Pairwire {
    const pairwire = attachPairwireNamespace(io, namespace, {
      logLevel: 'silent',
      ...LOAD_FROM_ONE_ADDRESS,
      ...options,
    });
    cleanups.push(() => pairwire.close());
    return pairwire;
  }

  it('pair and relay independently: a client of one is never paired with a client of the other', async () => {
    const { io, url } = await host();
    const one = embed(io, '/one');
    embed(io, '/two');

    // One waiting client in each: shared state would pair them across the namespaces.
    const a1 = client(`${url}/one`);
    const b1 = client(`${url}/two`);
    await Promise.all([a1.first('waiting'), b1.first('waiting')]);

    const a2 = client(`${url}/one`);
    const b2 = client(`${url}/two`);
    const [pa1, pa2, pb1, pb2] = await Promise.all([
      a1.first('paired'),
      a2.first('paired'),
      b1.first('paired'),
      b2.first('paired'),
    ]);
    expect(pa1.room).toBe(pa2.room);
    expect(pb1.room).toBe(pb2.room);
    expect(pa1.room).not.toBe(pb1.room);

    expect((await a1.signal(OFFER)).ok).toBe(true);
    const answer = { type: 'answer', sdp: 'v=0 two' } as const;
    expect((await b2.signal(answer)).ok).toBe(true);
    expect(await a2.first('signal')).toEqual(OFFER);
    expect(await b1.first('signal')).toEqual(answer);
    expect(a2.all('signal')).toEqual([OFFER]);
    expect(b1.all('signal')).toEqual([answer]);
    expect(a1.all('signal')).toEqual([]);
    expect(b2.all('signal')).toEqual([]);

    // Closing one disconnects its clients from its namespace only: the other instance, and the
    // host's connections it shares with it (a1 and b1 share one socket.io-client Manager), serve on.
    const reasons = [a1, a2].map((c) => new Promise((resolve) => c.socket.once('disconnect', resolve)));
    await one.close();
    expect(await Promise.all(reasons)).toEqual(['io server disconnect', 'io server disconnect']);
    expect(a1.socket.io).toBe(b1.socket.io);
    expect((await b1.signal(OFFER)).ok).toBe(true);
    expect(await b2.first('signal')).toEqual(OFFER);
  });

  it("leaves socket.data plain data for the host: a cluster adapter's fetchSockets() serializes it", async () => {
    const { io, url } = await host();
    embed(io, '/one');
    const { a } = await pairAt(`${url}/one`);
    await a.first('paired');
    const [remote] = await io.of('/one').fetchSockets();
    // What the redis-streams adapter (msgpack) or the cluster adapter would send for this socket:
    // the binding's per-connection state (which holds the socket) must not be part of it.
    expect(() => JSON.stringify(remote?.data)).not.toThrow();
    expect(Object.keys(remote?.data ?? {}).sort()).toEqual(['ip', 'session', 'subject']);
  });

  it("applies its own limits at the namespace's CONNECT: origin, per-address, each instance its own", async () => {
    const { io, url } = await host();
    embed(io, '/strict', { maxConnectionsPerIp: 1, corsOrigins: ['https://app.example'] });
    embed(io, '/other', { maxConnectionsPerIp: 1 });

    const refusal = (namespace: string, origin?: string) => {
      const socket = connectRaw(`${url}${namespace}`, {
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
        extraHeaders: origin ? { origin } : {},
      });
      cleanups.push(() => socket.close());
      return new Promise<unknown>((resolve) => {
        socket.once('connect', () => resolve('connected'));
        socket.once('connect_error', (error: Error & { data?: unknown }) => resolve(error.data));
      });
    };

    expect(await refusal('/strict', 'https://evil.example')).toMatchObject({ code: ErrorCode.ORIGIN_NOT_ALLOWED });
    expect(await refusal('/strict', 'https://app.example')).toBe('connected');
    expect(await refusal('/strict')).toMatchObject({ code: ErrorCode.RATE_LIMITED });
    // The other instance counts its own connections.
    expect(await refusal('/other')).toBe('connected');
  });

  it('rejects a namespace that is not a path', () => {
    expect(() => attachPairwireNamespace(new Server(), 'chat')).toThrow(TypeError);
  });
});

describe('embedding options', () => {
  it('are the settings of the environment, typed, with the same defaults', () => {
    expect(resolveOptions()).toEqual(loadConfig({}));
    // Every default written back as an option reads the same: each type's text form is right.
    expect(resolveOptions(loadConfig({}))).toEqual(loadConfig({}));
    const custom = resolveOptions({
      maxSdpBytes: 4096,
      autoJoin: false,
      corsOrigins: ['https://a.example', 'https://b.example'],
      iceServers: [{ urls: ['stun:one.example', 'stun:two.example'] }],
      redisUrl: 'redis://127.0.0.1:6390',
    });
    expect(custom).toMatchObject({
      maxSdpBytes: 4096,
      autoJoin: false,
      corsOrigins: ['https://a.example', 'https://b.example'],
      iceServers: [{ urls: ['stun:one.example', 'stun:two.example'] }],
      redisUrl: 'redis://127.0.0.1:6390',
    });
  });

  it('are validated like the environment, naming the option', () => {
    const bad = (options: object) => () => resolveOptions(options as never);
    expect(bad({ maxSdpBytes: 1.5 })).toThrow(ConfigError);
    expect(bad({ maxSdpBytes: 1.5 })).toThrow('maxSdpBytes (MAX_SDP_BYTES): "1.5" is not an integer');
    expect(bad({ maxSdpBytes: '4096' })).toThrow(/maxSdpBytes \(MAX_SDP_BYTES\): must be a number/);
    expect(bad({ autoJoin: 'yes' })).toThrow(/must be a boolean/);
    expect(bad({ corsOrigins: 'https://a.example' })).toThrow(/must be an array/);
    expect(bad({ corsOrigins: ['https://a.example/'] })).toThrow(/can never match/);
    expect(bad({ iceServers: [{ url: 'stun:x' }] })).toThrow(/needs "urls"/);
    expect(bad({ maxFrameBytes: 16 * 1024, maxSdpBytes: 64 * 1024 })).toThrow(/^maxFrameBytes \(MAX_FRAME_BYTES\): /);
    expect(bad({ maxSdpByte: 4096 })).toThrow(/maxSdpByte: is not a pairwire option/);
  });
});
