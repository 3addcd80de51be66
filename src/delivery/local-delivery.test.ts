import { describe, expect, it } from 'vitest';
import type { StatsPayload } from '../protocol/messages.js';
import { MemoryPairingStore } from '../store/memory-store.js';
import type { Outgoing } from '../store/pairing-store.js';
import { LocalDelivery, type SessionLink } from './local-delivery.js';

/** A link that records what it was given. */
function recordingLink(): SessionLink & { events: string[]; stats: StatsPayload[] } {
  const events: string[] = [];
  const stats: StatsPayload[] = [];
  return {
    events,
    stats,
    write: (out) => events.push(out.event.name),
    writeStats: (counts) => stats.push(counts),
    lose: () => events.push('lost'),
  };
}

const counts: StatsPayload = { online: 3, waiting: 1, pairs: 1 };
const waiting = (to: string, seq: number): Outgoing => ({ to, seq, event: { name: 'waiting' } });
const paired = (to: string, seq: number): Outgoing => ({
  to,
  seq,
  event: { name: 'paired', room: 'r', initiator: true, commonInterests: [] },
});

describe('LocalDelivery: who waits, who is paired', () => {
  it('knows from what it wrote, and from idle() for a leave, which announces nothing to its sender', () => {
    const delivery = new LocalDelivery(new MemoryPairingStore());
    const [a, b] = [recordingLink(), recordingLink()];
    delivery.open('a', a, 0, []);
    delivery.open('b', b, 0, []);
    delivery.deliver([waiting('a', 1), waiting('b', 1)]);
    expect(delivery.waitingCount()).toBe(2);
    delivery.deliver([paired('b', 2)]);
    expect([delivery.waitingCount(), delivery.pairedCount()]).toEqual([1, 1]);
    delivery.writeStatsToWaiting(counts);
    expect([a.stats, b.stats]).toEqual([[counts], []]);
    // b leaves its pair, a the queue: neither is told anything, and neither counts any more.
    delivery.idle('b');
    delivery.idle('a');
    expect([delivery.waitingCount(), delivery.pairedCount()]).toEqual([0, 0]);
    delivery.writeStatsToWaiting(counts);
    expect(a.stats).toHaveLength(1);
    expect([a.events, b.events]).toEqual([['waiting'], ['waiting', 'paired']]);
  });

  it('takes a resumed session as the store says it stands, whatever its replay ends with', () => {
    const delivery = new LocalDelivery(new MemoryPairingStore());
    const [left, waits] = [recordingLink(), recordingLink()];
    // Its `waiting` was never acknowledged, but it left the queue before it dropped.
    delivery.open('left', left, 0, [waiting('left', 1)], 'idle');
    // All acknowledged: nothing to replay, and still in the queue.
    delivery.open('waits', waits, 1, [], 'waiting');
    delivery.writeStatsToWaiting(counts);
    expect([left.stats, waits.stats]).toEqual([[], [counts]]);
  });
});

describe('LocalDelivery: order', () => {
  it('holds events that came ahead of a gap until it fills, each time a gap opens, and drops duplicates', () => {
    const written: number[] = [];
    const link: SessionLink = { write: (out) => written.push(out.seq), writeStats: () => {}, lose: () => {} };
    // No fill from the outbox during the test: each gap is closed by the events themselves.
    const delivery = new LocalDelivery(new MemoryPairingStore(), { gapWaitMs: 60_000 });
    const signal = (seq: number): Outgoing => ({
      to: 'a',
      seq,
      event: { name: 'signal', room: 'r', signal: { type: 'end-of-candidates' } },
    });
    delivery.open('a', link, 0, []);
    delivery.deliver([signal(3), signal(2)]);
    expect(written).toEqual([]);
    delivery.deliver([signal(1)]);
    expect(written).toEqual([1, 2, 3]);
    delivery.deliver([signal(5), signal(3)]);
    expect(written).toEqual([1, 2, 3]);
    delivery.deliver([signal(4), signal(5), signal(6)]);
    expect(written).toEqual([1, 2, 3, 4, 5, 6]);
    delivery.close('a', link);
  });
});
