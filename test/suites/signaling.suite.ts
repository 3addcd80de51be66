/**
 * The signaling behaviour end to end: a real server on a free port, real socket.io clients.
 * Parameterised by store, so the Redis store runs exactly these tests too.
 */

import { io, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Config } from '../../src/config.js';
import type { Ack, PairedPayload, Signal } from '../../src/protocol/messages.js';
import type { MatchRules, PairingStore } from '../../src/store/pairing-store.js';
import { answer, candidate, endOfCandidates, offer } from '../fixtures/webrtc.js';
import { type RecordingClient, startServer, type TestServer } from '../helpers/server.js';

export function describeSignalingSuite(
  name: string,
  makeStore: (options?: { matching?: MatchRules }) => Promise<PairingStore>,
): void {
  describe(`signaling over socket.io: ${name} store`, () => {
    let server: TestServer | undefined;

    afterEach(async () => {
      await server?.close();
      server = undefined;
    });

    let store: PairingStore;
    async function start(overrides: Partial<Config> = {}, matching?: MatchRules): Promise<TestServer> {
      store = await makeStore(matching ? { matching } : {});
      server = await startServer(overrides, { store });
      return server;
    }

    /** `report`, sent as any client sends it (the SDK's own `report()` lives beside the clients). */
    const report = (client: RecordingClient, payload: unknown) =>
      client.socket.timeout(5000).emitWithAck('report', payload) as Promise<Ack<object>>;

    /** Two clients paired through explicit joins; returns them as [initiator, polite]. */
    async function pairOf(s: TestServer): Promise<[RecordingClient, RecordingClient, string]> {
      const a = await s.connect();
      const b = await s.connect();
      expect(await a.join()).toEqual({ ok: true, status: 'waiting' });
      expect(await b.join()).toEqual({ ok: true, status: 'paired' });
      const [pa, pb] = await Promise.all([a.first('paired'), b.first('paired')]);
      expect(pa.room).toBe(pb.room);
      return [a, b, pa.room];
    }

    describe('pairing', () => {
      it('queues a client on connect and pairs it with the next one, exactly one initiator', async () => {
        const s = await start({ iceServers: [{ urls: 'stun:stun.example.org:3478' }] });
        const a = await s.connect();
        await a.first('waiting');
        const b = await s.connect();
        const [pa, pb] = await Promise.all([a.first('paired'), b.first('paired')]);
        expect(pa.room).toBe(pb.room);
        expect([pa.initiator, pb.initiator].sort()).toEqual([false, true]);
        expect(pa.initiator).toBe(true); // a waited longer
        expect(pa.iceServers).toEqual([{ urls: 'stun:stun.example.org:3478' }]);
        expect(pb.iceServers).toEqual(pa.iceServers);
      });

      it('lets a third client wait until a fourth arrives, first in first out', async () => {
        const s = await start({ autoJoin: false });
        const [a, b, c, d] = [await s.connect(), await s.connect(), await s.connect(), await s.connect()];
        expect(await a.join()).toEqual({ ok: true, status: 'waiting' });
        expect(await b.join()).toEqual({ ok: true, status: 'paired' });
        expect(await c.join()).toEqual({ ok: true, status: 'waiting' });
        await c.first('waiting');
        expect(c.all('paired')).toEqual([]);
        expect(await d.join()).toEqual({ ok: true, status: 'paired' });
        const [pa, pb, pc, pd] = await Promise.all([a, b, c, d].map((x) => x.first('paired')));
        expect(pa?.room).toBe(pb?.room);
        expect(pc?.room).toBe(pd?.room);
        expect(pc?.room).not.toBe(pa?.room);
        expect(pc?.initiator).toBe(true);
        // c's only pairing is the one with d: it never got a partner while alone.
        expect(c.all('paired')).toHaveLength(1);
      });

      it('refuses join while waiting or paired, and changes nothing', async () => {
        const s = await start({ autoJoin: false });
        const a = await s.connect();
        await a.join();
        expect(await a.join()).toMatchObject({ ok: false, error: { code: 'ALREADY_WAITING' } });
        const b = await s.connect();
        await b.join();
        expect(await b.join()).toMatchObject({ ok: false, error: { code: 'ALREADY_PAIRED' } });
        expect(await a.signal(offer)).toEqual({ ok: true });
        expect(await b.nth('signal', 0)).toEqual(offer);
      });

      it('never pairs a waiting client that disconnected', async () => {
        const s = await start({ autoJoin: false });
        const ghost = await s.connect();
        await ghost.join();
        ghost.close();
        await vi.waitFor(() => expect(s.app.io.sockets.sockets.size).toBe(0));
        const b = await s.connect();
        expect(await b.join()).toEqual({ ok: true, status: 'waiting' });
        const c = await s.connect();
        expect(await c.join()).toEqual({ ok: true, status: 'paired' });
        expect((await b.first('paired')).room).toBe((await c.first('paired')).room);
      });

      it('pairs 200 concurrent clients into 100 disjoint pairs', async () => {
        const s = await start();
        const clients = await Promise.all(Array.from({ length: 200 }, () => s.connect()));
        const paired = await Promise.all(clients.map((c) => c.first('paired', 15_000)));
        const rooms = new Map<string, PairedPayload[]>();
        for (const p of paired) rooms.set(p.room, [...(rooms.get(p.room) ?? []), p]);
        expect(rooms.size).toBe(100);
        for (const members of rooms.values()) {
          expect(members).toHaveLength(2);
          expect(members.filter((m) => m.initiator)).toHaveLength(1);
        }
        for (const c of clients) expect(c.all('paired')).toHaveLength(1);
      }, 30_000);
    });

    describe('matching', () => {
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

      it('an interest match beats a longer wait, and both sides hear what they share', async () => {
        const s = await start({ autoJoin: false });
        const [a, b, c] = [await s.connect(), await s.connect(), await s.connect()];
        expect(await a.join()).toEqual({ ok: true, status: 'waiting' });
        expect(await b.join({ interests: ['chess', 'Jazz'] })).toEqual({ ok: true, status: 'waiting' });
        expect(await c.join({ interests: [' JAZZ ', 'go'] })).toEqual({ ok: true, status: 'paired' });
        const [pb, pc] = await Promise.all([b.first('paired'), c.first('paired')]);
        expect(pb).toMatchObject({ room: pc.room, initiator: true, commonInterests: ['jazz'] });
        expect(pc).toMatchObject({ initiator: false, commonInterests: ['jazz'] });
        expect(a.all('paired')).toEqual([]);
      });

      it('falls back to anyone once fallbackMs has passed; a client that never falls back keeps waiting', async () => {
        const s = await start({ matchFallbackMs: 60_000 });
        // Queued at once, with the preferences of its handshake (auth).
        const patient = await s.connect({ preferences: { interests: ['rare'], fallbackMs: null } });
        const a = await s.connect({ preferences: { interests: ['x'], fallbackMs: 150 } });
        await Promise.all([patient.first('waiting'), a.first('waiting')]);
        const b = await s.connect(); // anyone: a and patient want their interests for now
        await b.first('waiting');
        await sleep(300);
        const c = await s.connect();
        const [pa, pc] = await Promise.all([a.first('paired'), c.first('paired')]);
        expect(pa).toMatchObject({ room: pc.room, initiator: true, commonInterests: [] });
        const d = await s.connect();
        expect((await d.first('paired')).room).toBe((await b.first('paired')).room);
        expect(patient.all('paired')).toEqual([]);
      });

      it('pairs two clients whose fallbacks passed while both waited, though nobody else joins', async () => {
        // The heartbeat (a third of the grace) finds them due: the store itself has no timers.
        const s = await start({ resumeGraceMs: 1000 });
        const a = await s.connect({ preferences: { interests: ['x'], fallbackMs: 100 } });
        await a.first('waiting');
        const b = await s.connect({ preferences: { interests: ['y'], fallbackMs: 100 } });
        await b.first('waiting');
        const [pa, pb] = await Promise.all([a.first('paired'), b.first('paired')]);
        expect(pa).toMatchObject({ room: pb.room, initiator: true, commonInterests: [] });
        expect(pb.initiator).toBe(false);
      });

      it('lang separates: the same lang, or either none', async () => {
        const s = await start({ autoJoin: false });
        const [en, fr, none, fr2] = [await s.connect(), await s.connect(), await s.connect(), await s.connect()];
        expect(await en.join({ lang: 'en' })).toEqual({ ok: true, status: 'waiting' });
        expect(await fr.join({ lang: 'FR' })).toEqual({ ok: true, status: 'waiting' });
        expect(await none.join()).toEqual({ ok: true, status: 'paired' });
        expect((await none.first('paired')).room).toBe((await en.first('paired')).room);
        expect(await fr2.join({ lang: 'fr' })).toEqual({ ok: true, status: 'paired' });
        expect((await fr2.first('paired')).room).toBe((await fr.first('paired')).room);
      });

      it('never pairs a client straight back with the partner it just skipped', async () => {
        const s = await start({ autoJoin: false });
        const [a, b] = await pairOf(s);
        expect(await a.next()).toEqual({ ok: true, status: 'waiting' });
        await b.first('partner-left');
        expect(await b.join()).toEqual({ ok: true, status: 'waiting' });
        const c = await s.connect();
        expect(await c.join()).toEqual({ ok: true, status: 'paired' });
        expect((await c.first('paired')).room).toBe((await a.nth('paired', 1)).room);
        expect(b.all('paired')).toHaveLength(1);
      });

      it('block ends the pair like next and never pairs the two again, whatever the recent-partner rules', async () => {
        const s = await start({ autoJoin: false }, { recentPartners: 0, recentMs: 0 });
        const [a, b, room] = await pairOf(s);
        expect(await a.block()).toEqual({ ok: true, status: 'waiting' });
        expect(await b.first('partner-left')).toEqual({ room, reason: 'next' });
        expect(await b.join()).toEqual({ ok: true, status: 'waiting' });
        expect(await b.leave()).toEqual({ ok: true, status: 'idle' });
        expect(await b.join()).toEqual({ ok: true, status: 'waiting' });
        const c = await s.connect();
        expect(await c.block()).toMatchObject({ ok: false, error: { code: 'NOT_PAIRED' } });
        expect(await c.join()).toEqual({ ok: true, status: 'paired' });
        expect((await c.first('paired')).room).toBe((await a.nth('paired', 1)).room);
        expect(b.all('paired')).toHaveLength(1);
      });

      it('report ends the pair like block, keeps the report, and refuses a repeat, a foreign room and bad shapes', async () => {
        const s = await start({ autoJoin: false, pairingPerSecond: 100 }, { recentPartners: 0, recentMs: 0 });
        const [a, b, room] = await pairOf(s);
        const [c, d, otherRoom] = await pairOf(s);
        const evidence = [{ from: 'partner', text: 'click my link', at: Date.now() }];
        const filed = await report(a, { room, reason: 'spam', details: 'a bot', evidence });
        expect(filed).toEqual({ ok: true, reportId: expect.any(String) });
        expect(await b.first('partner-left')).toEqual({ room, reason: 'next' });
        expect(await report(a, { room, reason: 'other' })).toMatchObject({
          ok: false,
          error: { code: 'ALREADY_REPORTED' },
        });
        expect(await report(a, { room: otherRoom, reason: 'spam' })).toMatchObject({
          ok: false,
          error: { code: 'NOT_IN_ROOM' },
        });
        for (const bad of [
          { room, reason: 'rude' },
          { room, reason: 'spam', details: 'x'.repeat(501) },
          { room, reason: 'spam', evidence: [{ from: 'partner', text: 'x'.repeat(5000), at: 1 }] },
          { room, reason: 'spam', extra: 1 },
          undefined,
        ]) {
          expect(await report(c, bad)).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
        }
        // The refusals changed nothing: c and d are still paired.
        expect(await c.signal(offer)).toEqual({ ok: true });
        expect(d.all('partner-left')).toEqual([]);
        const [kept] = await store.reports({ limit: 10 });
        expect(kept).toMatchObject({
          id: (filed as unknown as { reportId: string }).reportId,
          room,
          reason: 'spam',
          evidence,
        });
        expect(kept?.reporter).toMatch(/^[0-9a-f]{64}$/);
        expect(kept?.reported).toMatch(/^[0-9a-f]{64}$/);
        // Both come from 127.0.0.1 without a device token: one subject (docs/security.md).
        expect(kept?.reported).toBe(kept?.reporter);
        // Never paired again, whatever the recent-partner rules.
        expect(await a.join()).toEqual({ ok: true, status: 'waiting' });
        expect(await b.join()).toEqual({ ok: true, status: 'waiting' });
        expect(a.all('paired')).toHaveLength(1);
      });

      it('a ban disconnects the subject at once (its partner hears), refuses it at connect, and spares other devices', async () => {
        const s = await start({ autoJoin: false });
        // The SDK sends no device token yet: plain socket.io clients with `auth.device`.
        const opened: Socket[] = [];
        const connect = (n: number) => {
          const socket = io(s.url, {
            transports: ['websocket'],
            reconnection: false,
            auth: { device: `device-token-${n}`.padEnd(20, 'x') },
          });
          opened.push(socket);
          return socket;
        };
        const command = (socket: Socket, event: string, ...payload: unknown[]) =>
          socket.timeout(5000).emitWithAck(event, ...payload) as Promise<Ack<object>>;
        const once = <T>(socket: Socket, event: string) => new Promise<T>((resolve) => socket.once(event, resolve));
        try {
          const [a, b] = [connect(1), connect(2)];
          const pairedA = once<PairedPayload>(a, 'paired');
          await command(a, 'join');
          await command(b, 'join');
          const { room } = await pairedA;
          // Their subjects, as reports name them: b reports a.
          expect(await command(b, 'report', { room, reason: 'harassment' })).toMatchObject({ ok: true });
          const [kept] = await store.reports({ limit: 1 });
          const subject = kept?.reported ?? '';
          expect(subject).toMatch(/^[0-9a-f]{64}$/);
          expect(subject).not.toBe(kept?.reporter);

          // a's device again, paired with a third device.
          const [c, d] = [connect(1), connect(3)];
          const pairedC = once(c, 'paired');
          await command(c, 'join');
          await command(d, 'join');
          await pairedC;
          const told = once<unknown>(c, 'error');
          // Every connection of the subject goes: a's first one too.
          const gone = Promise.all([once(c, 'disconnect'), once(a, 'disconnect')]);
          const partnerLeft = once<unknown>(d, 'partner-left');
          await store.ban({ subject, reason: 'test', by: 'operator', at: Date.now(), until: Date.now() + 60_000 });
          expect(await told).toMatchObject({ code: 'BANNED', retryAfterMs: expect.any(Number) });
          await gone;
          expect(await partnerLeft).toMatchObject({ reason: 'disconnect' });
          // The same device cannot come back; another one can.
          const refused = await once<Error & { data?: unknown }>(connect(1), 'connect_error');
          expect(refused.data).toMatchObject({ code: 'BANNED', retryAfterMs: expect.any(Number) });
          expect(await command(d, 'join')).toMatchObject({ ok: true });
        } finally {
          for (const socket of opened) socket.close();
        }
      });

      it('tells waiting clients, and only them, the live counts in unnumbered stats events', async () => {
        const s = await start({ autoJoin: false, statsEventMs: 50 });
        const [a, b, c, idle, left, f] = [
          await s.connect(),
          await s.connect(),
          await s.connect(),
          await s.connect(),
          await s.connect(),
          await s.connect(),
        ];
        const statsArguments: unknown[][] = [];
        a.socket.on('stats', (...args: unknown[]) => statsArguments.push(args));
        await pairOf(s); // two more sessions, one pair
        expect(await b.join()).toEqual({ ok: true, status: 'waiting' });
        expect(await c.join()).toEqual({ ok: true, status: 'paired' });
        expect(await left.join()).toEqual({ ok: true, status: 'waiting' });
        expect(await left.leave()).toEqual({ ok: true, status: 'idle' });
        const leftHeard = left.all('stats').length; // it waited for a moment
        expect(await a.join()).toEqual({ ok: true, status: 'waiting' });
        // Counts asked while others waited (cached 2 s) may come first; then these, which GET /stats tells too.
        await vi.waitFor(() => expect(a.all('stats').at(-1)).toEqual({ online: 8, waiting: 1, pairs: 2 }), {
          timeout: 5000,
        });
        expect(left.all('stats')).toHaveLength(leftHeard); // left the queue: told no more
        expect(await (await fetch(`${s.url}/stats`)).json()).toMatchObject({ online: 8, waiting: 1, pairs: 2 });
        // The payload alone: no sequence number, so nothing for the client to acknowledge or replay.
        expect(statsArguments.every((args) => args.length === 1)).toBe(true);

        // Paired, a hears no more counts; the one who waits now does.
        expect(await f.join()).toEqual({ ok: true, status: 'paired' });
        await a.first('paired');
        const heard = a.all('stats').length;
        expect(await left.join()).toEqual({ ok: true, status: 'waiting' });
        await left.nth('stats', 2);
        expect(a.all('stats')).toHaveLength(heard);
        // Never waiting (b was, for a moment), never told.
        for (const client of [c, idle, f]) expect(client.all('stats')).toEqual([]);
      });

      it('bad preferences in the handshake leave the client idle and say why', async () => {
        const s = await start();
        const a = await s.connect({ preferences: { interests: ['x'.repeat(40)] } });
        expect(await a.first('error')).toMatchObject({ code: 'INVALID_PAYLOAD' });
        const b = await s.connect();
        await b.first('waiting');
        expect(b.all('paired')).toEqual([]);
      });
    });

    describe('relay', () => {
      it('relays a full handshake byte for byte, in order, to the partner only', async () => {
        const s = await start({ autoJoin: false });
        const [a, b] = await pairOf(s);
        const [c, d] = await pairOf(s);

        const fromA: Signal[] = [offer, candidate(1), candidate(2), candidate(3), endOfCandidates];
        const fromB: Signal[] = [answer, candidate(4, 'p9Qe'), candidate(5, 'p9Qe'), endOfCandidates];
        const acks = await Promise.all([...fromA.map((m) => a.signal(m)), ...fromB.map((m) => b.signal(m))]);
        for (const ack of acks) expect(ack).toEqual({ ok: true });

        await b.nth('signal', fromA.length - 1);
        await a.nth('signal', fromB.length - 1);
        expect(b.all('signal')).toEqual(fromA);
        expect(a.all('signal')).toEqual(fromB);
        expect(JSON.stringify(b.all('signal'))).toBe(JSON.stringify(fromA));
        // No echo to the sender.
        expect(a.all('signal')).not.toContainEqual(offer);

        // A marker sent inside the other pair arrives after anything misrouted would have.
        await c.signal(endOfCandidates);
        await d.first('signal');
        expect(d.all('signal')).toEqual([endOfCandidates]);
        expect(c.all('signal')).toEqual([]);
      });

      it('refuses a signal from a client that has no partner', async () => {
        const s = await start({ autoJoin: false });
        const idle = await s.connect();
        expect(await idle.signal(offer)).toMatchObject({ ok: false, error: { code: 'NOT_PAIRED' } });
        await idle.join();
        expect(await idle.signal(offer)).toMatchObject({ ok: false, error: { code: 'NOT_PAIRED' } });
        // Still waiting: the refused signal changed nothing.
        const other = await s.connect();
        expect(await other.join()).toEqual({ ok: true, status: 'paired' });
        expect(other.all('signal')).toEqual([]);
      });
    });

    describe('leaving', () => {
      it('next: the partner is told at once with reason "next" and is not re-queued; the caller is', async () => {
        const s = await start({ autoJoin: false });
        const [a, b, room] = await pairOf(s);
        expect(await a.next()).toEqual({ ok: true, status: 'waiting' });
        expect(await b.first('partner-left')).toEqual({ room, reason: 'next' });
        const e = await s.connect();
        expect(await e.join()).toEqual({ ok: true, status: 'paired' });
        expect((await e.first('paired')).room).toBe((await a.nth('paired', 1)).room);
        // b was not silently re-queued: its own join is what queues it.
        expect(await b.join()).toEqual({ ok: true, status: 'waiting' });
        expect(await b.signal(offer)).toMatchObject({ ok: false, error: { code: 'NOT_PAIRED' } });
      });

      it('leave: the partner is told with reason "leave" and neither is re-queued', async () => {
        const s = await start({ autoJoin: false });
        const [a, b, room] = await pairOf(s);
        expect(await b.leave()).toEqual({ ok: true, status: 'idle' });
        expect(await a.first('partner-left')).toEqual({ room, reason: 'leave' });
        expect(await a.join()).toEqual({ ok: true, status: 'waiting' });
        // Both were queued only by their own joins; they were just partners, so they wait for someone new.
        expect(await b.join()).toEqual({ ok: true, status: 'waiting' });
        const c = await s.connect();
        expect(await c.join()).toEqual({ ok: true, status: 'paired' });
        expect((await c.first('paired')).room).toBe((await a.nth('paired', 1)).room);
      });

      it('leave takes a waiting client off the queue', async () => {
        const s = await start({ autoJoin: false });
        const a = await s.connect();
        await a.join();
        expect(await a.leave()).toEqual({ ok: true, status: 'idle' });
        const b = await s.connect();
        expect(await b.join()).toEqual({ ok: true, status: 'waiting' });
      });

      it('disconnect: the partner is told with reason "disconnect"', async () => {
        const s = await start({ autoJoin: false });
        const [a, b, room] = await pairOf(s);
        a.close();
        expect(await b.first('partner-left')).toEqual({ room, reason: 'disconnect' });
        expect(await b.signal(offer)).toMatchObject({ ok: false, error: { code: 'NOT_PAIRED' } });
      });

      it('a signal after the partner moved on never reaches its next partner', async () => {
        const s = await start({ autoJoin: false });
        const [a, b] = await pairOf(s);
        await b.next();
        const c = await s.connect();
        await c.join(); // b and c are paired now
        await b.first('paired');
        expect(await a.signal(offer)).toMatchObject({ ok: false, error: { code: 'NOT_PAIRED' } });
        await b.signal(candidate(9));
        await c.first('signal');
        expect(c.all('signal')).toEqual([candidate(9)]);
        expect(b.all('signal')).toEqual([]);
      });
    });

    describe('bad input', () => {
      const tooLargeSdp = { type: 'offer', sdp: `v=0\r\n${'a=x\r\n'.repeat(20_000)}` };
      const cases: Array<[string, string, unknown[], string]> = [
        ['a string', 'signal', ['offer'], 'INVALID_PAYLOAD'],
        ['null', 'signal', [null], 'INVALID_PAYLOAD'],
        ['no payload', 'signal', [], 'INVALID_PAYLOAD'],
        ['an unknown signal type', 'signal', [{ type: 'bye' }], 'INVALID_PAYLOAD'],
        ['a missing sdp', 'signal', [{ type: 'offer' }], 'INVALID_PAYLOAD'],
        ['an empty sdp', 'signal', [{ type: 'answer', sdp: '' }], 'INVALID_PAYLOAD'],
        ['an sdp of the wrong type', 'signal', [{ type: 'offer', sdp: 42 }], 'INVALID_PAYLOAD'],
        ['an extra field', 'signal', [{ ...offer, to: 'someone-else' }], 'INVALID_PAYLOAD'],
        [
          'a __proto__ key',
          'signal',
          [JSON.parse('{"type":"end-of-candidates","__proto__":{"x":1}}')],
          'INVALID_PAYLOAD',
        ],
        [
          'a candidate that is not an object',
          'signal',
          [{ type: 'candidate', candidate: 'candidate:1' }],
          'INVALID_PAYLOAD',
        ],
        [
          'a negative sdpMLineIndex',
          'signal',
          [{ type: 'candidate', candidate: { candidate: 'c', sdpMLineIndex: -1 } }],
          'INVALID_PAYLOAD',
        ],
        ['an SDP over the limit', 'signal', [tooLargeSdp], 'PAYLOAD_TOO_LARGE'],
        [
          'a candidate over the limit',
          'signal',
          [{ type: 'candidate', candidate: { candidate: 'x'.repeat(5000) } }],
          'PAYLOAD_TOO_LARGE',
        ],
        ['two payloads', 'signal', [offer, offer], 'INVALID_PAYLOAD'],
        ['a payload on next', 'next', [{ to: 'x' }], 'INVALID_PAYLOAD'],
        ['a payload on leave', 'leave', ['now'], 'INVALID_PAYLOAD'],
        ['eleven interests on next', 'next', [{ interests: 'abcdefghijk'.split('') }], 'INVALID_PAYLOAD'],
        ['a lang with a region on block', 'block', [{ lang: 'en-GB' }], 'INVALID_PAYLOAD'],
        ['an unknown event', 'hello', [{}], 'UNKNOWN_EVENT'],
        ['an event named like a server event', 'paired', [{ room: 'x', initiator: true }], 'UNKNOWN_EVENT'],
      ];

      for (const [label, event, args, code] of cases) {
        it(`${label} on "${event}" gets ${code}, and the pair goes on untouched`, async () => {
          const s = await start({ autoJoin: false });
          const [a, b] = await pairOf(s);
          const ack = (await a.socket.timeout(5000).emitWithAck(event, ...args)) as {
            ok: boolean;
            error: { code: string; message: string };
          };
          expect(ack).toMatchObject({ ok: false, error: { code } });
          expect(ack.error.message).toEqual(expect.any(String));
          // The partner saw nothing, and the pair still works in both directions.
          expect(await a.signal(offer)).toEqual({ ok: true });
          expect(await b.nth('signal', 0)).toEqual(offer);
          expect(b.all('signal')).toHaveLength(1);
          expect(b.all('partner-left')).toEqual([]);
          expect(await b.signal(answer)).toEqual({ ok: true });
          expect(await a.nth('signal', 0)).toEqual(answer);
        });
      }

      it('acks a refused call in its turn, after the commands sent before it', async () => {
        const s = await start({ autoJoin: false });
        const a = await s.connect();
        const order: string[] = [];
        const acked = (label: string) => () => order.push(label);
        a.socket.emit('join', acked('join'));
        a.socket.emit('hello', {}, acked('unknown event'));
        a.socket.emit('signal', offer, offer, acked('two payloads'));
        a.socket.emit('leave', acked('leave'));
        await vi.waitFor(() => expect(order).toHaveLength(4));
        expect(order).toEqual(['join', 'unknown event', 'two payloads', 'leave']);
      });

      it('runs commands sent without an ack callback: signals are relayed, next and leave take effect', async () => {
        const s = await start({ autoJoin: false });
        const [a, b, room] = await pairOf(s);
        a.socket.emit('signal', offer);
        expect(await b.first('signal')).toEqual(offer);
        b.socket.emit('leave');
        expect(await a.first('partner-left')).toEqual({ room, reason: 'leave' });
      });

      it('a frame over MAX_FRAME_BYTES closes only that connection; its partner is told after the grace', async () => {
        const s = await start({ autoJoin: false, maxSdpBytes: 4096, maxFrameBytes: 8192, resumeGraceMs: 1000 });
        const [a, b, room] = await pairOf(s);
        const [c, d] = await pairOf(s);
        a.socket.emit('signal', { type: 'offer', sdp: 'x'.repeat(20_000) });
        expect(await b.first('partner-left')).toEqual({ room, reason: 'disconnect' });
        expect(await c.signal(offer)).toEqual({ ok: true });
        expect(await d.first('signal')).toEqual(offer);
      });

      it('a bad payload on join leaves the client idle', async () => {
        const s = await start({ autoJoin: false });
        const a = await s.connect();
        const ack = await a.socket.timeout(5000).emitWithAck('join', { room: 'mine' });
        expect(ack).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
        const b = await s.connect();
        expect(await b.join()).toEqual({ ok: true, status: 'waiting' });
      });
    });

    describe('resuming', () => {
      it('a client that drops and reconnects within the grace keeps its pair and gets every signal sent meanwhile, once', async () => {
        const s = await start({ autoJoin: false, resumeGraceMs: 5000 });
        const a = await s.connect({ socket: { reconnection: true, reconnectionDelay: 50 } });
        const b = await s.connect();
        await a.join();
        await b.join();
        const room = (await a.first('paired')).room;
        await b.first('paired');
        const session = a.sessionId;

        a.drop();
        const sent: Signal[] = [offer, candidate(1), candidate(2), endOfCandidates];
        for (const signal of sent) expect(await b.signal(signal)).toEqual({ ok: true });

        expect(await a.nth('session', 1)).toEqual({ id: session, resumed: true });
        await a.nth('signal', sent.length - 1);
        expect(a.all('signal')).toEqual(sent);
        expect(await a.signal(answer)).toEqual({ ok: true });
        expect(await b.first('signal')).toEqual(answer);
        expect(b.all('partner-left')).toEqual([]);
        expect(a.all('paired').map((p) => p.room)).toEqual([room]);
      });

      it('a client whose pair ended while it was away hears it on resume, and signals only its next partner', async () => {
        const s = await start({ autoJoin: false, resumeGraceMs: 5000 });
        const a = await s.connect({ socket: { reconnection: true, reconnectionDelay: 300 } });
        const b = await s.connect();
        await a.join();
        await b.join();
        const room = (await a.first('paired')).room;
        const session = a.sessionId;

        a.drop();
        await vi.waitFor(() => expect(s.app.io.sockets.sockets.size).toBe(1));
        expect(await b.leave()).toEqual({ ok: true, status: 'idle' });
        expect(await a.nth('session', 1)).toEqual({ id: session, resumed: true });
        expect(await a.first('partner-left')).toEqual({ room, reason: 'leave' });
        expect(await a.signal(offer)).toMatchObject({ ok: false, error: { code: 'NOT_PAIRED' } });

        const c = await s.connect();
        await a.join();
        await c.join();
        await c.first('paired');
        expect(await a.signal(offer)).toEqual({ ok: true });
        expect(await c.first('signal')).toEqual(offer);
        expect(b.all('signal')).toEqual([]);
      });

      it('a client quiet for longer than the grace still resumes a short drop with nothing lost', async () => {
        const s = await start({ autoJoin: false, resumeGraceMs: 1000 });
        const a = await s.connect({ socket: { reconnection: true, reconnectionDelay: 400 } });
        const b = await s.connect();
        await a.join();
        await b.join();
        await a.first('paired');
        // Quiet past the grace: the normal state of a pair whose DataChannel is open.
        await new Promise((resolve) => setTimeout(resolve, 1500));
        a.drop();
        await vi.waitFor(() => expect(s.app.io.sockets.sockets.size).toBe(1));
        const sent = [candidate(1), candidate(2), candidate(3), endOfCandidates];
        for (const signal of sent) expect(await b.signal(signal)).toEqual({ ok: true });
        expect(await a.nth('session', 1)).toMatchObject({ resumed: true });
        await a.nth('signal', sent.length - 1);
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(a.all('signal')).toEqual(sent);
      });

      it('a client that resumes to a full outbox gets all of it: the replay is not taken for a client that does not read', async () => {
        const s = await start({ autoJoin: false, resumeGraceMs: 5000 });
        const a = await s.connect({ socket: { reconnection: true, reconnectionDelay: 2500 } });
        const b = await s.connect();
        await a.join();
        await b.join();
        await a.first('paired');
        a.drop();
        await vi.waitFor(() => expect(s.app.io.sockets.sockets.size).toBe(1));
        // Offers of the largest size, as fast as the budget lets b send them, until a's outbox is
        // nearly full: about OUTBOX_MAX_BYTES of replay waits for a.
        const sdp = `v=0\r\n${'a'.repeat(65_000)}`;
        let sent = 0;
        while ((sent + 2) * 65_000 < 1024 * 1024) {
          const ack = await b.signal({ type: 'offer', sdp });
          if (ack.ok) sent++;
          else await new Promise((resolve) => setTimeout(resolve, 200));
        }
        expect(await a.nth('session', 1, 10_000)).toMatchObject({ resumed: true });
        await a.nth('signal', sent - 1, 10_000);
        expect(a.all('signal')).toHaveLength(sent);
        expect(a.all('error')).toEqual([]);
      }, 20_000);

      it('a client that drops while waiting gets its place back when it resumes', async () => {
        const s = await start({ autoJoin: false, resumeGraceMs: 5000 });
        const a = await s.connect({ socket: { reconnection: true, reconnectionDelay: 50 } });
        await a.join();
        a.drop();
        expect(await a.nth('session', 1)).toMatchObject({ resumed: true });
        expect(await a.nth('waiting', 1)).toEqual({});
        const b = await s.connect();
        expect(await b.join()).toEqual({ ok: true, status: 'paired' });
        expect((await a.first('paired')).initiator).toBe(true);
      });

      it('a client that left the queue and then drops stays idle when it resumes', async () => {
        const s = await start({ autoJoin: false, resumeGraceMs: 5000 });
        const a = await s.connect({ socket: { reconnection: true, reconnectionDelay: 50 } });
        await a.join();
        await a.leave();
        a.drop();
        expect(await a.nth('session', 1)).toMatchObject({ resumed: true });
        // a's commands run after its resume has settled: this ack is the barrier.
        expect(await a.signal(offer)).toMatchObject({ ok: false, error: { code: 'NOT_PAIRED' } });
        const b = await s.connect();
        expect(await b.join()).toEqual({ ok: true, status: 'waiting' });
        expect(a.all('waiting')).toHaveLength(1);
      });

      it('a dropped client that does not come back: its partner is told "disconnect" after the grace', async () => {
        const s = await start({ autoJoin: false, resumeGraceMs: 1000 });
        const [a, b, room] = await pairOf(s);
        a.drop();
        expect(await b.first('partner-left', 5000)).toEqual({ room, reason: 'disconnect' });
        expect(await b.join()).toEqual({ ok: true, status: 'waiting' });
      });

      it('a client that lost everything but its session id claims it: what it missed is replayed, the pair goes on', async () => {
        const s = await start({ autoJoin: false, resumeGraceMs: 5000 });
        const [a, b, room] = await pairOf(s);
        const session = a.sessionId;
        a.drop();
        expect(await b.signal(offer)).toEqual({ ok: true });
        // A new client (a reloaded page, a new process) that kept only the id: lastSeq 0.
        const again = await s.connect({ session });
        expect(await again.first('session')).toEqual({ id: session, resumed: true });
        expect(await again.first('paired')).toMatchObject({ room, initiator: true });
        expect(await again.first('signal')).toEqual(offer);
        expect(await again.signal(offer)).toEqual({ ok: true });
        expect(await b.first('signal')).toEqual(offer);
        // The partner, which lost nothing, is not disturbed.
        expect(b.all('paired')).toHaveLength(1);
      });

      it('a claimed session that is unknown gets a fresh one', async () => {
        const s = await start({ autoJoin: false });
        const client = await s.connect({ session: 'AAAAAAAAAAAAAAAAAAAAAA' });
        const session = await client.first('session');
        expect(session.resumed).toBe(false);
        expect(session.id).not.toBe('AAAAAAAAAAAAAAAAAAAAAA');
      });
    });

    describe('lifecycle', () => {
      it('closes gracefully: clients are disconnected, the port is released, close is idempotent', async () => {
        const s = await start();
        const a = await s.connect();
        const disconnected = new Promise<string>((resolve) => a.socket.once('disconnect', resolve));
        await Promise.all([s.app.close(), s.app.close()]);
        expect(await disconnected).toEqual(expect.any(String));
        expect(s.app.http.listening).toBe(false);
      });
    });
  });
}
