/**
 * The behaviour every PairingStore must have. Each implementation runs this same suite
 * (memory-store.test.ts, redis-store.test.ts), so they cannot drift apart.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Signal } from '../protocol/messages.js';
import {
  ANYONE,
  type EnqueueResult,
  MATCH_SCAN_STEPS,
  type MatchPreferences,
  type MatchRules,
  type OutboxLimits,
  type PairingStore,
  partnerOf,
  type ReportRules,
  type SubjectConnectionLimits,
  TOP_INTERESTS,
} from './pairing-store.js';
import { describeSafetyContract } from './safety-store.contract.js';

export type StoreFactory = (options?: {
  outbox?: OutboxLimits;
  signalHoldMs?: number;
  matching?: MatchRules;
  reports?: ReportRules;
}) => Promise<PairingStore>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function describePairingStoreContract(name: string, makeStore: StoreFactory): void {
  describe(`PairingStore contract: ${name}`, () => {
    let store: PairingStore;
    let n = 0;
    // Unique names per test, so a shared backend never sees one test's sessions in another.
    const name = (label: string) => `${label}-${process.pid}-${++n}-${Math.random().toString(36).slice(2)}`;
    /** A live session, as a transport registers it on connect. */
    const session = (label: string) => {
      const id = name(label);
      attached.push(store.attach(id, { resume: false }));
      return id;
    };
    let attached: Promise<unknown>[] = [];

    beforeEach(async () => {
      store = await makeStore();
      attached = [];
    });
    /** Lets every attach issued by `session()` land before the store is asked anything else. */
    const settled = () => Promise.all(attached);
    afterEach(async () => {
      await store.close();
    });

    it('queues the first session and pairs the second with it, the longer waiter as initiator', async () => {
      const [a, b] = [session('a'), session('b')];
      await settled();
      expect(await store.enqueue(a)).toMatchObject({ status: 'waiting' });
      const result = await store.enqueue(b);
      expect(result.status).toBe('paired');
      if (result.status !== 'paired') return;
      expect(result.pair).toMatchObject({ initiator: a, polite: b });
      expect(result.pair.id).toEqual(expect.any(String));
      expect(await store.pairOf(a)).toEqual(result.pair);
      expect(await store.pairOf(b)).toEqual(result.pair);
      expect(partnerOf(result.pair, a)).toBe(b);
      expect(partnerOf(result.pair, b)).toBe(a);
    });

    it('is first in, first out', async () => {
      const [a, b, c, d] = [session('a'), session('b'), session('c'), session('d')];
      await settled();
      await store.enqueue(a);
      await store.enqueue(b);
      expect(await store.enqueue(c)).toMatchObject({ status: 'waiting' });
      const cd = await store.enqueue(d);
      expect(cd).toMatchObject({ status: 'paired', pair: { initiator: c, polite: d } });
    });

    it('never pairs a session with itself or queues it twice', async () => {
      const a = session('a');
      await settled();
      await store.enqueue(a);
      expect(await store.enqueue(a)).toEqual({ status: 'already-waiting' });
      expect(await store.pairOf(a)).toBeNull();
    });

    it('refuses to queue a session that is already paired', async () => {
      const [a, b] = [session('a'), session('b')];
      await settled();
      await store.enqueue(a);
      const paired = await store.enqueue(b);
      expect(await store.enqueue(a)).toEqual({ status: 'already-paired', pair: (paired as { pair: unknown }).pair });
    });

    it('never pairs a session that left the queue', async () => {
      const [a, b, c] = [session('a'), session('b'), session('c')];
      await settled();
      await store.enqueue(a);
      expect(await store.dequeue(a)).toBe(true);
      expect(await store.dequeue(a)).toBe(false);
      expect(await store.enqueue(b)).toMatchObject({ status: 'waiting' });
      expect(await store.enqueue(c)).toMatchObject({ status: 'paired', pair: { initiator: b, polite: c } });
    });

    it('unpairs both sides at once, after which both may queue again', async () => {
      const [a, b] = [session('a'), session('b')];
      await settled();
      await store.enqueue(a);
      const paired = await store.enqueue(b);
      const ended = await store.unpair(b, 'next');
      expect(ended?.pair).toEqual((paired as { pair: unknown }).pair);
      expect(await store.pairOf(a)).toBeNull();
      expect(await store.pairOf(b)).toBeNull();
      expect(await store.unpair(a, 'next')).toBeNull();
      expect(await store.enqueue(a)).toMatchObject({ status: 'waiting' });
    });

    it('answers null and false for sessions it never saw', async () => {
      const stranger = name('x');
      expect(await store.pairOf(stranger)).toBeNull();
      expect(await store.unpair(stranger, 'leave')).toBeNull();
      expect(await store.relay(stranger, { type: 'end-of-candidates' })).toEqual({ status: 'not-paired' });
      expect(await store.replay(stranger, 0)).toBeNull();
      expect(await store.dequeue(stranger)).toBe(false);
    });

    it('makes disjoint pairs out of concurrent enqueues', async () => {
      const sessions = Array.from({ length: 100 }, (_, i) => session(`c${i}`));
      await settled();
      const results = await Promise.all(sessions.map((s) => store.enqueue(s)));
      const pairs = results.flatMap((r) => (r.status === 'paired' ? [r.pair] : []));
      expect(pairs).toHaveLength(50);
      const members = pairs.flatMap((p) => [p.initiator, p.polite]);
      expect(new Set(members).size).toBe(100);
      expect(new Set(pairs.map((p) => p.id)).size).toBe(50);
      for (const p of pairs) expect(p.initiator).not.toBe(p.polite);
    });

    it('counts the sessions waiting', async () => {
      const [a, b, c] = [session('a'), session('b'), session('c')];
      await settled();
      expect(await store.queueLength()).toBe(0);
      await store.enqueue(a);
      expect(await store.queueLength()).toBe(1);
      await store.enqueue(b);
      await store.enqueue(c);
      expect(await store.queueLength()).toBe(1);
    });

    it('counts who is online, waiting and paired', async () => {
      expect(await store.stats()).toEqual({ online: 0, waiting: 0, pairs: 0, topInterests: [] });
      const [a, b, c, d] = [session('a'), session('b'), session('c'), session('d')];
      await settled();
      await store.enqueue(a);
      await store.enqueue(b);
      await store.enqueue(c);
      expect(await store.stats()).toEqual({ online: 4, waiting: 1, pairs: 1, topInterests: [] });
      await store.unpair(a, 'next');
      await store.release(d);
      await store.detach(c, 60_000); // dropped: still online within its grace, off the queue
      expect(await store.stats()).toEqual({ online: 3, waiting: 0, pairs: 0, topInterests: [] });
    });

    it('lists the interests most waited on, most first, ties by tag, at most TOP_INTERESTS', async () => {
      const people = Array.from({ length: TOP_INTERESTS + 3 }, (_, i) => session(`t${i}`));
      const [x, y] = [session('x'), session('y')];
      await settled();
      // Each waits with its own tag and a language of its own (nobody pairs); two more share "b".
      for (const [i, who] of people.entries()) {
        await store.enqueue(who, {
          interests: [`tag${String(i).padStart(2, '0')}`, 'b'],
          fallbackMs: null,
          lang: `l${i}`,
        });
      }
      await store.enqueue(x, { interests: ['a'], fallbackMs: null, lang: 'xx' });
      await store.enqueue(y, { interests: ['a'], fallbackMs: null, lang: 'yy' });
      const { topInterests } = await store.stats();
      expect(topInterests).toHaveLength(TOP_INTERESTS);
      expect(topInterests.slice(0, 4)).toEqual([
        { tag: 'b', waiting: TOP_INTERESTS + 3 },
        { tag: 'a', waiting: 2 },
        { tag: 'tag00', waiting: 1 },
        { tag: 'tag01', waiting: 1 },
      ]);
      // Leaving, by any way, takes a waiting session out of its interests' counts.
      await store.dequeue(x);
      await store.release(people[0] as string);
      const joiner = session('joiner');
      await settled();
      expect(await store.enqueue(joiner, { interests: ['a'], fallbackMs: null, lang: null })).toMatchObject({
        status: 'paired',
      });
      expect((await store.stats()).topInterests.slice(0, 3)).toEqual([
        { tag: 'b', waiting: TOP_INTERESTS + 2 },
        { tag: 'tag01', waiting: 1 },
        { tag: 'tag02', waiting: 1 },
      ]);
    });

    describe('marks (the bot gate: spent challenges, verified sessions)', () => {
      it('records a key once: a second mark is refused while the first lives', async () => {
        const key = name('challenge');
        expect(await store.isMarked(key)).toBe(false);
        expect(await store.mark(key, 60_000)).toBe(true);
        expect(await store.mark(key, 60_000)).toBe(false);
        expect(await store.isMarked(key)).toBe(true);
        expect(await store.isMarked(name('other'))).toBe(false);
      });

      it('forgets a mark when its time runs out, and then records it again', async () => {
        const key = name('challenge');
        expect(await store.mark(key, 50)).toBe(true);
        await vi.waitFor(async () => expect(await store.isMarked(key)).toBe(false), { timeout: 2000, interval: 25 });
        expect(await store.mark(key, 60_000)).toBe(true);
      });

      it('gives exactly one of many concurrent marks of one key', async () => {
        const key = name('challenge');
        const results = await Promise.all(Array.from({ length: 8 }, () => store.mark(key, 60_000)));
        expect(results.filter(Boolean)).toHaveLength(1);
      });
    });

    it('reports ready', async () => {
      await expect(store.ready()).resolves.toBeUndefined();
    });

    describe('session leases', () => {
      it('attaches a new session as idle, and resumes only a known one', async () => {
        const a = name('a');
        expect(await store.attach(a, { resume: true })).toBeNull();
        expect(await store.attach(a, { resume: false })).toEqual({ state: { status: 'idle' }, replay: [] });
        expect(await store.attach(a, { resume: true })).toEqual({ state: { status: 'idle' }, replay: [] });
        await store.enqueue(a);
        expect((await store.attach(a, { resume: true }))?.state).toEqual({ status: 'waiting' });
      });

      it('keeps a detached session paired during its grace, off the queue, and resumable', async () => {
        const [a, b, c] = [session('a'), session('b'), session('c')];
        await settled();
        await store.enqueue(a);
        const paired = await store.enqueue(b);
        await store.enqueue(c);
        await store.detach(a, 60_000);
        await store.detach(c, 60_000);
        expect((await store.heartbeat([b])).orphans).toEqual([]);
        expect(await store.pairOf(b)).toEqual((paired as { pair: unknown }).pair);
        expect((await store.attach(a, { resume: true }))?.state).toEqual({
          status: 'paired',
          pair: (paired as { pair: unknown }).pair,
        });
        // c left the queue when it was detached: a newcomer waits instead of meeting it.
        const d = session('d');
        await settled();
        expect(await store.enqueue(d)).toMatchObject({ status: 'waiting' });
      });

      it('remembers that a session dropped while waiting, so it can take its place again on resume', async () => {
        const [a, b] = [session('a'), session('b')];
        await settled();
        await store.enqueue(a);
        await store.detach(a, 60_000);
        await store.detach(b, 60_000); // idle when it dropped
        expect((await store.attach(a, { resume: true }))?.state).toEqual({ status: 'idle', requeue: true });
        expect((await store.attach(a, { resume: true }))?.state).toEqual({ status: 'idle' });
        expect((await store.attach(b, { resume: true }))?.state).toEqual({ status: 'idle' });
      });

      it('reports a partner whose grace ran out, and does not resume it', async () => {
        const [a, b] = [session('a'), session('b')];
        await settled();
        await store.enqueue(a);
        await store.enqueue(b);
        await store.detach(a, 50);
        await vi.waitFor(async () => expect((await store.heartbeat([b])).orphans).toEqual([b]), {
          timeout: 3000,
          interval: 20,
        });
        expect(await store.attach(a, { resume: true })).toBeNull();
      });

      it('reports a partner that was released', async () => {
        const [a, b, c] = [session('a'), session('b'), session('c')];
        await settled();
        await store.enqueue(a);
        await store.enqueue(b);
        await store.release(a);
        expect((await store.heartbeat([b, c])).orphans).toEqual([b]);
        expect(await store.attach(a, { resume: true })).toBeNull();
      });

      it('refuses to queue a session it does not know: lost, since its numbering would start over', async () => {
        const [a, b] = [name('a'), session('b')];
        await settled();
        expect(await store.enqueue(a)).toEqual({ status: 'lost' });
        expect(await store.enqueue(b)).toMatchObject({ status: 'waiting' });
      });

      it('takes a released session off the queue', async () => {
        const [a, b] = [session('a'), session('b')];
        await settled();
        await store.enqueue(a);
        await store.release(a);
        expect(await store.enqueue(b)).toMatchObject({ status: 'waiting' });
      });
    });

    describe('matching', () => {
      /** Preferences: interests, with no fallback unless given. */
      const likes = (interests: string[], more: Partial<MatchPreferences> = {}): MatchPreferences => ({
        ...ANYONE,
        interests,
        ...more,
      });
      const partner = (result: EnqueueResult) => (result.status === 'paired' ? result.pair : undefined);

      it('an interest match beats a longer wait, and both sides are told what they share', async () => {
        const [a, b, c] = [session('a'), session('b'), session('c')];
        await settled();
        await store.enqueue(a); // anyone, waiting longest
        await store.enqueue(b, likes(['chess', 'jazz']));
        const result = await store.enqueue(c, likes(['jazz', 'go', 'chess'], { fallbackMs: 0 }));
        if (result.status !== 'paired') throw new Error(result.status);
        expect(result.pair).toMatchObject({ initiator: b, polite: c });
        const room = result.pair.id;
        // In the joiner's order.
        const commonInterests = ['jazz', 'chess'];
        expect(result.events).toEqual([
          { to: c, seq: 1, event: { name: 'paired', room, initiator: false, commonInterests } },
          { to: b, seq: 2, event: { name: 'paired', room, initiator: true, commonInterests } },
        ]);
        expect(await store.queueLength()).toBe(1);
      });

      it('among sessions sharing an interest, the one that waited longest wins, whichever interest it is', async () => {
        const [a, b, c] = [session('a'), session('b'), session('c')];
        await settled();
        await store.enqueue(a, likes(['x']));
        await store.enqueue(b, likes(['y']));
        expect(partner(await store.enqueue(c, likes(['y', 'x'])))).toMatchObject({ initiator: a, polite: c });
      });

      it('waits, rather than settle for anyone, until a fallback passes; then the longest waiter that accepts anyone wins', async () => {
        const [a, b, c, d] = [session('a'), session('b'), session('c'), session('d')];
        await settled();
        await store.enqueue(a, likes(['x'], { fallbackMs: 150 }));
        await store.enqueue(b, likes(['y'], { fallbackMs: 60_000 }));
        // c would take anyone, but a and b want their interests for now.
        expect(await store.enqueue(c)).toMatchObject({ status: 'waiting' });
        await sleep(250);
        // a's fallback has passed and a came before c: the next joiner who takes anyone gets a.
        expect(partner(await store.enqueue(d))).toMatchObject({ initiator: a, polite: d });
        const e = session('e');
        await settled();
        expect(partner(await store.enqueue(e))).toMatchObject({ initiator: c, polite: e });
        expect(await store.queueLength()).toBe(1); // b, still holding out for "y"
      });

      it('pairs without a shared interest only when both accept anyone, and then they share nothing', async () => {
        const [a, b, c] = [session('a'), session('b'), session('c')];
        await settled();
        await store.enqueue(a, likes(['x'], { fallbackMs: null })); // never falls back
        await sleep(50);
        expect(await store.enqueue(b)).toMatchObject({ status: 'waiting' });
        const result = await store.enqueue(c, likes(['z'], { fallbackMs: 0 }));
        if (result.status !== 'paired') throw new Error(result.status);
        expect(result.pair).toMatchObject({ initiator: b, polite: c });
        expect(result.events.map((e) => e.event)).toEqual([
          { name: 'paired', room: result.pair.id, initiator: false, commonInterests: [] },
          { name: 'paired', room: result.pair.id, initiator: true, commonInterests: [] },
        ]);
      });

      it('separates languages: the same lang, or either none', async () => {
        const [en, fr, none, fr2] = [session('en'), session('fr'), session('none'), session('fr2')];
        await settled();
        await store.enqueue(en, { ...ANYONE, lang: 'en' });
        expect(await store.enqueue(fr, { ...ANYONE, lang: 'fr' })).toMatchObject({ status: 'waiting' });
        expect(partner(await store.enqueue(none))).toMatchObject({ initiator: en, polite: none });
        expect(partner(await store.enqueue(fr2, { ...ANYONE, lang: 'fr' }))).toMatchObject({ initiator: fr });
      });

      it('never pairs a session with a recent partner; a third one is taken instead', async () => {
        const [a, b, c] = [session('a'), session('b'), session('c')];
        await settled();
        await store.enqueue(a);
        await store.enqueue(b);
        await store.unpair(a, 'next');
        expect(await store.enqueue(a)).toMatchObject({ status: 'waiting' });
        expect(await store.enqueue(b)).toMatchObject({ status: 'waiting' });
        expect(await store.queueLength()).toBe(2);
        expect(partner(await store.enqueue(c))).toMatchObject({ initiator: a, polite: c });
      });

      it('remembers only the last N partners, for the time configured', async () => {
        store = await makeStore({ matching: { recentPartners: 1, recentMs: 60_000 } });
        const [a, b, c] = [session('a'), session('b'), session('c')];
        await settled();
        await store.enqueue(a);
        await store.enqueue(b); // a–b
        await store.unpair(a, 'next');
        await store.enqueue(a);
        await store.enqueue(c); // a–c: b is no longer a's last partner, but a is still b's
        await store.unpair(a, 'next');
        await store.enqueue(a);
        expect(await store.enqueue(b)).toMatchObject({ status: 'waiting' });
        await store.unpair(c, 'next');

        store = await makeStore({ matching: { recentPartners: 20, recentMs: 100 } });
        const [d, e] = [session('d'), session('e')];
        await settled();
        await store.enqueue(d);
        await store.enqueue(e);
        await store.unpair(d, 'next');
        await store.enqueue(d);
        expect(await store.enqueue(e)).toMatchObject({ status: 'waiting' });
        await store.dequeue(e);
        await sleep(200);
        expect(partner(await store.enqueue(e))).toMatchObject({ initiator: d, polite: e });
      });

      it('never pairs a session with one it blocked, either way round, however long ago', async () => {
        store = await makeStore({ matching: { recentPartners: 0, recentMs: 0 } });
        const [a, b, c] = [session('a'), session('b'), session('c')];
        await settled();
        await store.enqueue(a);
        await store.enqueue(b);
        const ended = await store.unpair(a, 'next', { tell: 'partner', block: true });
        expect(ended?.events.map((e) => [e.to, e.event])).toEqual([
          [b, { name: 'partner-left', room: ended?.pair.id, reason: 'next' }],
        ]);
        expect(await store.enqueue(b)).toMatchObject({ status: 'waiting' });
        expect(await store.enqueue(a)).toMatchObject({ status: 'waiting' });
        await store.dequeue(a);
        await store.dequeue(b);
        expect(await store.enqueue(a)).toMatchObject({ status: 'waiting' });
        expect(await store.enqueue(b)).toMatchObject({ status: 'waiting' });
        expect(partner(await store.enqueue(c))).toMatchObject({ initiator: a, polite: c });
      });

      it('forgets a waiting session in every queue when it leaves, drops or is released', async () => {
        const [a, b, c, d] = [session('a'), session('b'), session('c'), session('d')];
        await settled();
        await store.enqueue(a, likes(['x'], { fallbackMs: 0 }));
        await store.enqueue(b, likes(['x'], { fallbackMs: 50 }));
        await store.enqueue(c, likes(['x']));
        await store.dequeue(a);
        await store.detach(b, 60_000);
        await store.release(c);
        await sleep(100);
        expect(await store.enqueue(d, likes(['x'], { fallbackMs: 0 }))).toMatchObject({ status: 'waiting' });
        expect(await store.queueLength()).toBe(1);
      });

      it('pairs two sessions whose fallbacks passed while both waited, when the heartbeat reports them due', async () => {
        const [a, b, c] = [session('a'), session('b'), session('c')];
        await settled();
        await store.enqueue(a, likes(['x'], { fallbackMs: 100 }));
        await store.enqueue(b, likes(['y'], { fallbackMs: 100 }));
        await store.enqueue(c, likes(['z'], { fallbackMs: null })); // never falls back
        expect((await store.heartbeat([a, b, c])).due).toEqual([]);
        expect(await store.rematch(a)).toEqual({ status: 'unchanged' });
        await sleep(200);
        expect((await store.heartbeat([a, b, c])).due).toEqual([a, b]);
        expect(await store.rematch(c)).toEqual({ status: 'unchanged' });
        const result = await store.rematch(b);
        if (result.status !== 'paired') throw new Error(result.status);
        // a waited longer: it initiates, and hears second.
        expect(result.pair).toMatchObject({ initiator: a, polite: b });
        const room = result.pair.id;
        expect(result.events).toEqual([
          { to: b, seq: 2, event: { name: 'paired', room, initiator: false, commonInterests: [] } },
          { to: a, seq: 2, event: { name: 'paired', room, initiator: true, commonInterests: [] } },
        ]);
        expect(await store.rematch(a)).toEqual({ status: 'unchanged' });
        expect((await store.heartbeat([a, b, c])).due).toEqual([]);
        expect(await store.queueLength()).toBe(1);
      });

      it('owes a rematch to the sessions a join moved among those who accept anyone: two of them are not left side by side', async () => {
        const [a, b, d, c] = [session('a'), session('b'), session('d'), session('c')];
        const [f, g, h] = [session('f'), session('g'), session('h')];
        await settled();
        await store.enqueue(a, likes(['x'], { fallbackMs: 50 }));
        await store.enqueue(b, likes(['y'], { fallbackMs: 50 }));
        await store.enqueue(d, likes(['w'], { fallbackMs: 50 }));
        await sleep(150);
        // c accepts anyone: its join moves a, b and d (due) among those who do, and takes a.
        expect(partner(await store.enqueue(c))).toMatchObject({ initiator: a, polite: c });
        // b and d accept anyone too now, yet the join looked for c's partner only.
        expect((await store.heartbeat([b, d])).due).toEqual([b, d]);
        const result = await store.rematch(b);
        if (result.status !== 'paired') throw new Error(result.status);
        expect(result.pair).toMatchObject({ initiator: b, polite: d });
        expect((await store.heartbeat([b, d])).due).toEqual([]);

        // The same through claimDueFallbacks (API Gateway's sweep), once each.
        await store.enqueue(f, likes(['p'], { fallbackMs: 50 }));
        await store.enqueue(g, likes(['q'], { fallbackMs: 50 }));
        await sleep(150);
        expect(partner(await store.enqueue(h))).toMatchObject({ initiator: f, polite: h });
        expect((await store.claimDueFallbacks(10)).sessions).toEqual([g]);
        expect((await store.claimDueFallbacks(10)).sessions).toEqual([]);
        expect((await store.heartbeat([g])).due).toEqual([]);
        expect(await store.rematch(g)).toEqual({ status: 'unchanged' });
        expect(await store.queueLength()).toBe(1);
      });

      it('hands out waiting sessions whose fallback passed, first due first, once each, ready for rematch', async () => {
        const [a, b, c, d, e] = [session('a'), session('b'), session('c'), session('d'), session('e')];
        await settled();
        expect(await store.claimDueFallbacks(10)).toEqual({ sessions: [], nextInMs: null });
        await store.enqueue(a, likes(['x'], { fallbackMs: 100 }));
        await store.enqueue(b, likes(['y'], { fallbackMs: 100 }));
        await store.enqueue(c, likes(['z'], { fallbackMs: 60_000 }));
        await store.enqueue(d, likes(['w'], { fallbackMs: null })); // never falls back
        await store.enqueue(e, likes(['v'], { fallbackMs: 100 }));
        await store.dequeue(e); // no longer waiting: never handed out
        const early = await store.claimDueFallbacks(10);
        expect(early.sessions).toEqual([]);
        expect(early.nextInMs).toBeGreaterThan(0);
        expect(early.nextInMs).toBeLessThanOrEqual(100);
        await sleep(200);
        expect(await store.claimDueFallbacks(1)).toEqual({ sessions: [a], nextInMs: 0 });
        const second = await store.claimDueFallbacks(10);
        expect(second.sessions).toEqual([b]);
        expect(second.nextInMs).toBeGreaterThan(50_000); // c's
        expect((await store.claimDueFallbacks(10)).sessions).toEqual([]);
        // Claimed means moved already: the heartbeat has nothing more to report of them.
        expect((await store.heartbeat([a, b])).due).toEqual([]);
        // Both accept anyone now: the rematch of either pairs them, the longer waiter initiating.
        const result = await store.rematch(b);
        if (result.status !== 'paired') throw new Error(result.status);
        expect(result.pair).toMatchObject({ initiator: a, polite: b });
        expect(result.events.map((out) => [out.to, out.event])).toEqual([
          [b, { name: 'paired', room: result.pair.id, initiator: false, commonInterests: [] }],
          [a, { name: 'paired', room: result.pair.id, initiator: true, commonInterests: [] }],
        ]);
        expect(await store.queueLength()).toBe(2); // c and d
        await store.dequeue(c);
        expect(await store.claimDueFallbacks(10)).toEqual({ sessions: [], nextInMs: null });
      });

      it('reads a bounded number of entries per queue: beyond them a compatible session is not found', async () => {
        const blocked = Array.from({ length: MATCH_SCAN_STEPS }, (_, i) => session(`fr${i}`));
        const [en, far, joiner] = [session('en'), session('far'), session('joiner')];
        await settled();
        // Each speaks its own language: none of them is compatible with another, nor with en.
        for (const [i, s] of blocked.entries())
          await store.enqueue(s, { ...ANYONE, lang: `x${'abcdefghijklmnopqrstuvwxyz'[i]}` });
        await store.enqueue(far, { ...ANYONE, lang: 'en' });
        expect(await store.enqueue(joiner, { ...ANYONE, lang: 'en' })).toMatchObject({ status: 'waiting' });
        // Once the head moves on, the next joiner finds what is there.
        await store.dequeue(blocked[0] as string);
        expect(partner(await store.enqueue(en, { ...ANYONE, lang: 'en' }))).toMatchObject({ initiator: far });
      });
    });

    describe('outboxes', () => {
      const offer = { type: 'offer' as const, sdp: 'v=0' };
      const seqs = (events: { seq: number }[]) => events.map((e) => e.seq);

      /** a waits, b joins: returns the pair. */
      async function paired(a: string, b: string) {
        await settled();
        await store.enqueue(a);
        const result = await store.enqueue(b);
        if (result.status !== 'paired') throw new Error(`expected a pair, got ${result.status}`);
        return result;
      }

      it("numbers each session's events 1, 2, 3 and tells the polite side of a new pair first", async () => {
        const [a, b] = [session('a'), session('b')];
        await settled();
        expect(await store.enqueue(a)).toEqual({
          status: 'waiting',
          events: [{ to: a, seq: 1, event: { name: 'waiting' } }],
        });
        const result = await store.enqueue(b);
        if (result.status !== 'paired') throw new Error('not paired');
        const room = result.pair.id;
        expect(result.events).toEqual([
          { to: b, seq: 1, event: { name: 'paired', room, initiator: false, commonInterests: [] } },
          { to: a, seq: 2, event: { name: 'paired', room, initiator: true, commonInterests: [] } },
        ]);
      });

      it("relays a signal into the partner's outbox only while the pair lasts", async () => {
        const [a, b, c] = [session('a'), session('b'), session('c')];
        const { pair } = await paired(a, b);
        expect(await store.relay(a, offer)).toEqual({
          status: 'relayed',
          event: { to: b, seq: 2, event: { name: 'signal', room: pair.id, signal: offer } },
        });
        const ended = await store.unpair(b, 'next');
        expect(ended?.events).toEqual([
          { to: a, seq: 3, event: { name: 'partner-left', room: pair.id, reason: 'next' } },
        ]);
        // Whatever anyone remembers of the old pair, the store no longer relays for it.
        expect(await store.relay(a, offer)).toEqual({ status: 'not-paired' });
        await store.enqueue(b);
        const again = await store.enqueue(c);
        expect(again).toMatchObject({ status: 'paired', pair: { initiator: b, polite: c } });
        expect(await store.relay(a, offer)).toEqual({ status: 'not-paired' });
      });

      it('replays what was not acknowledged, in order, and forgets what was', async () => {
        const [a, b] = [session('a'), session('b')];
        await paired(a, b);
        for (let i = 0; i < 3; i++) await store.relay(a, { type: 'candidate', candidate: { candidate: `c${i}` } });
        expect(seqs((await store.replay(b, 0)) ?? [])).toEqual([1, 2, 3, 4]);
        await store.acknowledge(b, 2);
        expect(seqs((await store.replay(b, 0)) ?? [])).toEqual([3, 4]);
        expect(seqs((await store.replay(b, 3)) ?? [])).toEqual([4]);
        await store.acknowledge(b, 4);
        expect(await store.replay(b, 4)).toEqual([]);
        // Numbers are never reused, acknowledged or not.
        expect(await store.relay(a, offer)).toMatchObject({ event: { seq: 5 } });
      });

      it('tells the side that stays when its partner is the one that is gone', async () => {
        const [a, b] = [session('a'), session('b')];
        const { pair } = await paired(a, b);
        const ended = await store.unpair(a, 'disconnect', { tell: 'self' });
        expect(ended?.events).toEqual([
          { to: a, seq: 3, event: { name: 'partner-left', room: pair.id, reason: 'disconnect' } },
        ]);
        expect(await store.pairOf(b)).toBeNull();
      });

      it('relays nothing for a sender it no longer knows', async () => {
        const [a, b] = [session('a'), session('b')];
        await paired(a, b);
        await store.release(a);
        expect(await store.relay(a, offer)).toEqual({ status: 'not-paired' });
      });

      it('gives a resumed session what it missed after the seq it presents, within its grace', async () => {
        const [a, b] = [session('a'), session('b')];
        const { pair } = await paired(a, b);
        await store.detach(b, 60_000);
        await store.relay(a, offer);
        await store.relay(a, { type: 'end-of-candidates' });
        const back = await store.attach(b, { resume: true, after: 1 });
        expect(back?.state).toEqual({ status: 'paired', pair });
        expect(back?.replay.map((e) => [e.seq, e.event.name])).toEqual([
          [2, 'signal'],
          [3, 'signal'],
        ]);
        // Presenting a seq acknowledges it: the outbox keeps only what came after.
        expect(seqs((await store.replay(b, 0)) ?? [])).toEqual([2, 3]);
      });

      it("forgets a released session's outbox with it", async () => {
        const [a, b] = [session('a'), session('b')];
        await paired(a, b);
        await store.unpair(a, 'leave');
        await store.release(b);
        expect(await store.attach(b, { resume: true, after: 0 })).toBeNull();
        expect(await store.replay(b, 0)).toBeNull();
      });

      it('loses a partner that stops reading, ends its pair and tells the sender: never a silent drop', async () => {
        store = await makeStore({ outbox: { maxEvents: 4, maxBytes: 64 * 1024 } });
        const [a, b, c] = [session('a'), session('b'), session('c')];
        const { pair } = await paired(a, b);
        // b holds `paired` (1) and three signals: full.
        for (let i = 0; i < 3; i++) expect(await store.relay(a, offer)).toMatchObject({ status: 'relayed' });
        const gone = await store.relay(a, offer);
        expect(gone).toEqual({
          status: 'partner-gone',
          pair,
          // a's third event: `waiting`, `paired`, then this.
          events: [{ to: a, seq: 3, event: { name: 'partner-left', room: pair.id, reason: 'disconnect' } }],
        });
        expect(await store.pairOf(a)).toBeNull();
        // b is lost: it cannot resume, and nobody is paired with it.
        expect(await store.attach(b, { resume: true, after: 0 })).toBeNull();
        await store.acknowledge(a, 3); // a reads
        await store.enqueue(a);
        expect(await store.enqueue(c)).toMatchObject({ status: 'paired', pair: { initiator: a, polite: c } });
      });

      it('bounds an outbox by bytes as well as by count', async () => {
        store = await makeStore({ outbox: { maxEvents: 1000, maxBytes: 4096 } });
        const [a, b] = [session('a'), session('b')];
        await paired(a, b);
        const big = { type: 'offer' as const, sdp: 'x'.repeat(1500) };
        expect(await store.relay(a, big)).toMatchObject({ status: 'relayed' });
        expect(await store.relay(a, big)).toMatchObject({ status: 'relayed' });
        expect(await store.relay(a, big)).toMatchObject({ status: 'partner-gone' });
      });

      it("tells the owner each session's last seq, and which of its sessions are lost", async () => {
        store = await makeStore({ outbox: { maxEvents: 3, maxBytes: 64 * 1024 } });
        const [a, b, c] = [session('a'), session('b'), session('c')];
        await paired(a, b);
        await store.relay(a, offer);
        await store.relay(a, offer); // b: paired and two signals: full
        const beat = await store.heartbeat([a, b, c]);
        expect(beat.lastSeq).toEqual(
          new Map([
            [a, 2],
            [b, 3],
            [c, 0],
          ]),
        );
        expect(beat).toMatchObject({ orphans: [], lost: [] });
        await store.relay(a, offer); // b overflows: lost, and a is told
        const after = await store.heartbeat([a, b, c]);
        expect(after.lost).toEqual([b]);
        expect(after.lastSeq.get(a)).toBe(3);
        expect(after.lastSeq.has(b)).toBe(false);
        // A lost session is not renewed back to life by its old owner's heartbeat.
        expect(await store.attach(b, { resume: true })).toBeNull();
      });

      it('frees room as the client acknowledges', async () => {
        store = await makeStore({ outbox: { maxEvents: 3, maxBytes: 64 * 1024 } });
        const [a, b] = [session('a'), session('b')];
        await paired(a, b);
        for (let i = 0; i < 20; i++) {
          const relayed = await store.relay(a, offer);
          expect(relayed).toMatchObject({ status: 'relayed' });
          if (relayed.status === 'relayed') await store.acknowledge(b, relayed.event.seq);
        }
      });

      it('never pairs a waiting session whose outbox is full, and refuses a caller whose own is', async () => {
        store = await makeStore({ outbox: { maxEvents: 1, maxBytes: 64 * 1024 } });
        const [a, b, c] = [session('a'), session('b'), session('c')];
        await settled();
        await store.enqueue(a); // a holds `waiting`: full
        expect(await store.enqueue(b)).toMatchObject({ status: 'waiting' }); // a skipped as lost
        expect(await store.attach(a, { resume: true })).toBeNull();
        await store.dequeue(b);
        await store.enqueue(b); // b now holds two events' worth: over its one
        expect(await store.enqueue(c)).toMatchObject({ status: 'waiting' });
      });
    });

    describe('signal order', () => {
      const candidate = (n: number): Signal => ({ type: 'candidate', candidate: { candidate: `candidate:${n}` } });
      /** The candidates in `session`'s outbox, by number, in seq order. */
      const relayed = async (session: string) =>
        ((await store.replay(session, 0)) ?? []).flatMap(({ event }) =>
          event.name === 'signal' && event.signal.type === 'candidate' ? [event.signal.candidate.candidate] : [],
        );

      async function pairOf2() {
        const [a, b] = [session('a'), session('b')];
        await settled();
        await store.enqueue(a);
        await store.enqueue(b);
        return [a, b] as const;
      }

      it("relays signals in their sender's order, holding one that came ahead of its predecessor", async () => {
        const [a, b] = await pairOf2();
        const second = store.relay(a, candidate(2), { cseq: 2 });
        const third = store.relay(a, candidate(3), { cseq: 3 });
        // Held: nothing of a's reached b before the first.
        expect(await relayed(b)).toEqual([]);
        expect(await store.relay(a, candidate(1), { cseq: 1 })).toMatchObject({ status: 'relayed', event: { seq: 2 } });
        expect(await second).toMatchObject({ status: 'relayed', event: { seq: 3 } });
        expect(await third).toMatchObject({ status: 'relayed', event: { seq: 4 } });
        expect(await relayed(b)).toEqual(['candidate:1', 'candidate:2', 'candidate:3']);
      });

      it('takes each cseq once: a retry is a duplicate and appends nothing', async () => {
        const [a, b] = await pairOf2();
        expect(await store.relay(a, candidate(1), { cseq: 1 })).toMatchObject({ status: 'relayed' });
        expect(await store.relay(a, candidate(1), { cseq: 1 })).toEqual({ status: 'duplicate' });
        expect(await relayed(b)).toEqual(['candidate:1']);
        // Signals without an order are not counted, and do not count.
        expect(await store.relay(a, candidate(9))).toMatchObject({ status: 'relayed' });
        expect(await store.relay(a, candidate(2), { cseq: 2 })).toMatchObject({ status: 'relayed' });
      });

      it('lets the successors of a skipped turn go (a signal refused before it reached the store)', async () => {
        const [a, b] = await pairOf2();
        const second = store.relay(a, candidate(2), { cseq: 2 });
        await store.skipSignal(a, 1);
        expect(await second).toMatchObject({ status: 'relayed' });
        expect(await store.relay(a, candidate(1), { cseq: 1 })).toEqual({ status: 'duplicate' });
        expect(await relayed(b)).toEqual(['candidate:2']);
      });

      it('counts the turn of a signal refused for want of a partner', async () => {
        const [a, b] = [session('a'), session('b')];
        await settled();
        expect(await store.relay(a, candidate(1), { cseq: 1 })).toEqual({ status: 'not-paired' });
        await store.enqueue(a);
        await store.enqueue(b);
        // Not held for cseq 1: its turn was taken.
        expect(await store.relay(a, candidate(2), { cseq: 2 })).toMatchObject({ status: 'relayed' });
        expect(await relayed(b)).toEqual(['candidate:2']);
      });

      it('after the hold, relays a signal whose predecessors never came; each of those still once if it comes', async () => {
        store = await makeStore({ signalHoldMs: 100 });
        const [a, b] = await pairOf2();
        expect(await store.relay(a, candidate(3), { cseq: 3 })).toMatchObject({ status: 'relayed' });
        expect(await store.relay(a, candidate(1), { cseq: 1 })).toMatchObject({ status: 'relayed' });
        expect(await store.relay(a, candidate(1), { cseq: 1 })).toEqual({ status: 'duplicate' });
        // The next one in order is not held: the turns up to 3 are over.
        expect(await store.relay(a, candidate(4), { cseq: 4 })).toMatchObject({ status: 'relayed' });
        expect(await store.relay(a, candidate(2), { cseq: 2 })).toMatchObject({ status: 'relayed' });
        expect(await store.relay(a, candidate(2), { cseq: 2 })).toEqual({ status: 'duplicate' });
        expect(await relayed(b)).toEqual(['candidate:3', 'candidate:1', 'candidate:4', 'candidate:2']);
      });

      it('relays nothing in order for a sender it does not know', async () => {
        const a = name('a');
        expect(await store.relay(a, candidate(1), { cseq: 1 })).toEqual({ status: 'not-paired' });
      });
    });

    describe('connections', () => {
      it('binds a session to its connection, both ways, and moves it to a new one', async () => {
        const [a, b] = [session('a'), session('b')];
        await settled();
        const [c1, c2] = [name('conn'), name('conn')];
        expect(await store.bindConnection(a, c1)).toBeNull();
        expect(await store.sessionOfConnection(c1)).toBe(a);
        expect(await store.connectionsOf([a, b])).toEqual(new Map([[a, c1]]));
        expect(await store.bindConnection(a, c2)).toBe(c1);
        expect(await store.connectionsOf([a])).toEqual(new Map([[a, c2]]));
        // The old connection still names its session: frames it sent before it closed count for it.
        expect(await store.sessionOfConnection(c2)).toBe(a);
        expect(await store.sessionOfConnection(c1)).toBe(a);
        expect(await store.sessionOfConnection(name('conn'))).toBeNull();
        // A connection carries one session: taking up b, c2 no longer carries a.
        expect(await store.bindConnection(b, c2)).toBeNull();
        expect(await store.connectionsOf([a, b])).toEqual(new Map([[b, c2]]));
      });

      it('binds nothing for a session it does not know', async () => {
        const c = name('conn');
        expect(await store.bindConnection(name('a'), c)).toBeNull();
        expect(await store.sessionOfConnection(c)).toBeNull();
      });

      it('detaches a session whose connection closed, only while that connection carries it', async () => {
        const [a, b] = [session('a'), session('b')];
        await settled();
        const [c1, c2] = [name('conn'), name('conn')];
        await store.bindConnection(a, c1);
        await store.enqueue(a);
        await store.bindConnection(a, c2);
        // c1's close, noticed after a moved to c2, changes nothing.
        expect(await store.detachConnection(c1, 60_000)).toBeNull();
        expect(await store.queueLength()).toBe(1);
        expect(await store.detachConnection(c2, 60_000)).toBe(a);
        expect(await store.detachConnection(c2, 60_000)).toBeNull();
        expect(await store.connectionsOf([a])).toEqual(new Map());
        // Detached as by detach(): off the queue, resumable within the grace, to be queued again.
        expect(await store.queueLength()).toBe(0);
        expect(await store.enqueue(b)).toMatchObject({ status: 'waiting' });
        expect((await store.attach(a, { resume: true }))?.state).toEqual({ status: 'idle', requeue: true });
      });

      it('hands out a paired session its connection dropped, once, when its grace has run out', async () => {
        const [a, b, c] = [session('a'), session('b'), session('c')];
        await settled();
        const [ca, cb, cc] = [name('conn'), name('conn'), name('conn')];
        await Promise.all([store.bindConnection(a, ca), store.bindConnection(b, cb), store.bindConnection(c, cc)]);
        await store.enqueue(a);
        await store.enqueue(b);
        expect(await store.claimLapsed(10)).toEqual({ sessions: [], nextInMs: null });
        // Unpaired, c's drop has nobody to tell: nothing recorded.
        expect(await store.detachConnection(cc, 50)).toBe(c);
        expect(await store.claimLapsed(10)).toEqual({ sessions: [], nextInMs: null });
        expect(await store.detachConnection(ca, 50)).toBe(a);
        const early = await store.claimLapsed(10);
        expect(early.sessions).toEqual([]);
        expect(early.nextInMs).toBeGreaterThanOrEqual(0);
        expect(early.nextInMs).toBeLessThanOrEqual(50);
        await sleep(80);
        expect(await store.claimLapsed(10)).toEqual({ sessions: [a], nextInMs: null });
        expect(await store.claimLapsed(10)).toEqual({ sessions: [], nextInMs: null });
        // By then a is gone for good: b's heartbeat finds its partner gone.
        expect((await store.heartbeat([b])).orphans).toEqual([b]);
      });

      it('hands out at most the limit at a time, the rest at the next claim', async () => {
        const ids = ['a', 'b', 'c', 'd'].map((n) => session(n));
        await settled();
        const connections = ids.map(() => name('conn'));
        for (const [i, id] of ids.entries()) {
          await store.bindConnection(id, connections[i] as string);
          await store.enqueue(id);
        }
        for (const connection of connections.slice(0, 3)) await store.detachConnection(connection, 10);
        await sleep(40);
        const first = await store.claimLapsed(2);
        expect(first.sessions).toHaveLength(2);
        expect(first.nextInMs).toBe(0);
        const second = await store.claimLapsed(2);
        expect([...first.sessions, ...second.sessions].sort()).toEqual(ids.slice(0, 3).sort());
        expect(second.nextInMs).toBeNull();
      });

      it("forgets a released session's connection", async () => {
        const a = session('a');
        await settled();
        const c = name('conn');
        await store.bindConnection(a, c);
        await store.release(a);
        expect(await store.connectionsOf([a])).toEqual(new Map());
        expect(await store.detachConnection(c, 60_000)).toBeNull();
      });
    });

    describe("subjects' open connections (what a ban closes)", () => {
      const HOUR = { max: 10, ttlMs: 60 * 60_000 };
      /** Adds, a few ms after the last add: their order is by time, and ties within one ms are in no order. */
      const add = async (subject: string, connection: string, limits: SubjectConnectionLimits) => {
        await sleep(2);
        await store.addSubjectConnection(subject, connection, limits);
      };

      it('lists what was added, oldest first, until each is removed; a removal names its subject once', async () => {
        const [banned, other] = [name('subject'), name('subject')];
        const [c1, c2, c3] = [name('conn'), name('conn'), name('conn')];
        expect(await store.subjectConnections(banned)).toEqual([]);
        await add(banned, c1, HOUR);
        await add(other, c2, HOUR);
        await add(banned, c3, HOUR);
        expect(await store.subjectConnections(banned)).toEqual([c1, c3]);
        expect(await store.subjectConnections(other)).toEqual([c2]);
        expect(await store.removeSubjectConnection(c1)).toBe(banned);
        expect(await store.removeSubjectConnection(c1)).toBeNull();
        expect(await store.removeSubjectConnection(name('conn'))).toBeNull();
        expect(await store.subjectConnections(banned)).toEqual([c3]);
        expect(await store.removeSubjectConnection(c3)).toBe(banned);
        expect(await store.subjectConnections(banned)).toEqual([]);
        expect(await store.subjectConnections(other)).toEqual([c2]);
      });

      it('keeps at most `max` per subject, the newest: the oldest go first, and their removal finds nothing', async () => {
        const subject = name('subject');
        const conns = [name('conn'), name('conn'), name('conn'), name('conn')];
        for (const c of conns) await add(subject, c, { max: 3, ttlMs: 60_000 });
        expect(await store.subjectConnections(subject)).toEqual(conns.slice(1));
        expect(await store.removeSubjectConnection(conns[0] as string)).toBeNull();
        // Added again, a connection counts as the newest: conns[1] outlives conns[2], which goes.
        await add(subject, conns[1] as string, { max: 3, ttlMs: 60_000 });
        await add(subject, conns[0] as string, { max: 3, ttlMs: 60_000 });
        expect(await store.subjectConnections(subject)).toEqual([conns[3], conns[1], conns[0]]);
      });

      it('forgets a connection whose time ran out (its $disconnect was lost)', async () => {
        const subject = name('subject');
        const [brief, lasting] = [name('conn'), name('conn')];
        await add(subject, brief, { max: 10, ttlMs: 40 });
        await add(subject, lasting, HOUR);
        expect(await store.subjectConnections(subject)).toEqual([brief, lasting]);
        await sleep(80);
        expect(await store.subjectConnections(subject)).toEqual([lasting]);
        expect(await store.removeSubjectConnection(brief)).toBeNull();
        expect(await store.removeSubjectConnection(lasting)).toBe(subject);
      });

      it('a connection is open for one subject: added for another, it leaves the first', async () => {
        const [first, second] = [name('subject'), name('subject')];
        const c = name('conn');
        await add(first, c, HOUR);
        await add(second, c, HOUR);
        expect(await store.subjectConnections(first)).toEqual([]);
        expect(await store.subjectConnections(second)).toEqual([c]);
        expect(await store.removeSubjectConnection(c)).toBe(second);
      });
    });

    describeSafetyContract((options) => makeStore(options));
  });
}
