import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryPairingStore } from './memory-store.js';
import { describePairingStoreContract } from './pairing-store.contract.js';

describePairingStoreContract('memory', async (options) => new MemoryPairingStore(options));

describe('MemoryPairingStore memory', () => {
  afterEach(() => vi.useRealTimers());

  it('forgets 2,000 sessions that dropped without a goodbye, and their pairs, once the grace is over', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const store = new MemoryPairingStore();
    const sessions = Array.from({ length: 2_000 }, (_, i) => `s${i}`);
    for (const session of sessions) await store.attach(session, { resume: false });
    // 1,000 pairs, then one more waiting client to leave the queue on its drop.
    for (const session of sessions) await store.enqueue(session);
    await store.attach('waiter', { resume: false });
    await store.enqueue('waiter');
    expect(store.size).toEqual({ sessions: 2_001, paired: 2_000, queued: 1 });

    for (const session of [...sessions, 'waiter']) await store.detach(session, 10_000);
    vi.advanceTimersByTime(9_000);
    await store.heartbeat([]);
    expect(store.size.sessions).toBe(2_001); // still within the grace: each may resume

    vi.advanceTimersByTime(2_000);
    await store.heartbeat([]);
    expect(store.size).toEqual({ sessions: 0, paired: 0, queued: 0 });
  });

  it('keeps a pair whose other side is still connected, for its heartbeat to report', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const store = new MemoryPairingStore();
    await store.attach('a', { resume: false });
    await store.attach('b', { resume: false });
    await store.enqueue('a');
    await store.enqueue('b');
    await store.detach('a', 1_000);
    vi.advanceTimersByTime(2_000);
    expect((await store.heartbeat(['b'])).orphans).toEqual(['b']);
    expect(store.size).toEqual({ sessions: 1, paired: 2, queued: 0 });
    await store.unpair('b', 'disconnect');
    expect(store.size.paired).toBe(0);
  });

  it('does not forget a session that resumed within its grace', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const store = new MemoryPairingStore();
    await store.attach('a', { resume: false });
    await store.detach('a', 1_000);
    expect((await store.attach('a', { resume: true }))?.state).toEqual({ status: 'idle' });
    vi.advanceTimersByTime(2_000);
    await store.heartbeat(['a']);
    expect(store.size.sessions).toBe(1);
  });
});
