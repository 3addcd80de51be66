/**
 * The behaviour every PairingStore must have. Each implementation runs this same suite
 * (memory-store.test.ts, redis-store.test.ts), so they cannot drift apart.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type PairingStore, partnerOf } from './pairing-store.js';

export function describePairingStoreContract(name: string, makeStore: () => Promise<PairingStore>): void {
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
      expect(await store.enqueue(a)).toEqual({ status: 'waiting' });
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
      expect(await store.enqueue(c)).toEqual({ status: 'waiting' });
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
      expect(await store.enqueue(b)).toEqual({ status: 'waiting' });
      expect(await store.enqueue(c)).toMatchObject({ status: 'paired', pair: { initiator: b, polite: c } });
    });

    it('unpairs both sides at once, after which both may queue again', async () => {
      const [a, b] = [session('a'), session('b')];
      await settled();
      await store.enqueue(a);
      const paired = await store.enqueue(b);
      const ended = await store.unpair(b);
      expect(ended).toEqual((paired as { pair: unknown }).pair);
      expect(await store.pairOf(a)).toBeNull();
      expect(await store.pairOf(b)).toBeNull();
      expect(await store.unpair(a)).toBeNull();
      expect(await store.enqueue(a)).toEqual({ status: 'waiting' });
    });

    it('answers null and false for sessions it never saw', async () => {
      const stranger = name('x');
      expect(await store.pairOf(stranger)).toBeNull();
      expect(await store.unpair(stranger)).toBeNull();
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

    it('reports ready', async () => {
      await expect(store.ready()).resolves.toBeUndefined();
    });

    describe('session leases', () => {
      it('attaches a new session as idle, and resumes only a known one', async () => {
        const a = name('a');
        expect(await store.attach(a, { resume: true })).toBeNull();
        expect(await store.attach(a, { resume: false })).toEqual({ status: 'idle' });
        expect(await store.attach(a, { resume: true })).toEqual({ status: 'idle' });
        await store.enqueue(a);
        expect(await store.attach(a, { resume: true })).toEqual({ status: 'waiting' });
      });

      it('keeps a detached session paired during its grace, off the queue, and resumable', async () => {
        const [a, b, c] = [session('a'), session('b'), session('c')];
        await settled();
        await store.enqueue(a);
        const paired = await store.enqueue(b);
        await store.enqueue(c);
        await store.detach(a, 60_000);
        await store.detach(c, 60_000);
        expect(await store.heartbeat([b])).toEqual([]);
        expect(await store.pairOf(b)).toEqual((paired as { pair: unknown }).pair);
        expect(await store.attach(a, { resume: true })).toEqual({
          status: 'paired',
          pair: (paired as { pair: unknown }).pair,
        });
        // c left the queue when it was detached: a newcomer waits instead of meeting it.
        const d = session('d');
        await settled();
        expect(await store.enqueue(d)).toEqual({ status: 'waiting' });
      });

      it('remembers that a session dropped while waiting, so it can take its place again on resume', async () => {
        const [a, b] = [session('a'), session('b')];
        await settled();
        await store.enqueue(a);
        await store.detach(a, 60_000);
        await store.detach(b, 60_000); // idle when it dropped
        expect(await store.attach(a, { resume: true })).toEqual({ status: 'idle', requeue: true });
        expect(await store.attach(a, { resume: true })).toEqual({ status: 'idle' });
        expect(await store.attach(b, { resume: true })).toEqual({ status: 'idle' });
      });

      it('reports a partner whose grace ran out, and does not resume it', async () => {
        const [a, b] = [session('a'), session('b')];
        await settled();
        await store.enqueue(a);
        await store.enqueue(b);
        await store.detach(a, 50);
        await vi.waitFor(async () => expect(await store.heartbeat([b])).toEqual([b]), { timeout: 3000, interval: 20 });
        expect(await store.attach(a, { resume: true })).toBeNull();
      });

      it('reports a partner that was released', async () => {
        const [a, b, c] = [session('a'), session('b'), session('c')];
        await settled();
        await store.enqueue(a);
        await store.enqueue(b);
        await store.release(a);
        expect(await store.heartbeat([b, c])).toEqual([b]);
        expect(await store.attach(a, { resume: true })).toBeNull();
      });

      it('counts a session that enqueues as live, attached or not', async () => {
        const [a, b] = [name('a'), name('b')];
        await store.enqueue(a);
        expect(await store.enqueue(b)).toMatchObject({ status: 'paired', pair: { initiator: a, polite: b } });
      });

      it('takes a released session off the queue', async () => {
        const [a, b] = [session('a'), session('b')];
        await settled();
        await store.enqueue(a);
        await store.release(a);
        expect(await store.enqueue(b)).toEqual({ status: 'waiting' });
      });
    });
  });
}
