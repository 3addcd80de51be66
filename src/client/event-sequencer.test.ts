import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventSequencer } from './event-sequencer.js';

function sequencer(gapMs = 1000) {
  const delivered: string[] = [];
  const asked: number[] = [];
  const events = new EventSequencer<string>(
    (seq, item) => delivered.push(`${seq}:${item}`),
    (last) => asked.push(last),
    gapMs,
  );
  return { events, delivered, asked };
}

describe('EventSequencer', () => {
  afterEach(() => vi.useRealTimers());

  it('delivers each event once, in seq order, whatever order they came in', () => {
    const { events, delivered } = sequencer();
    for (const seq of [1, 3, 2, 2, 1, 5, 4, 3]) events.receive(seq, `e${seq}`);
    expect(delivered).toEqual(['1:e1', '2:e2', '3:e3', '4:e4', '5:e5']);
    expect(events.last).toBe(5);
  });

  it('asks for a replay after the last in order when a gap does not fill, less often while it lasts', () => {
    vi.useFakeTimers();
    const { events, delivered, asked } = sequencer(1000);
    events.receive(1, 'a');
    events.receive(3, 'c');
    vi.advanceTimersByTime(999);
    expect(asked).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(asked).toEqual([1]);
    vi.advanceTimersByTime(2000);
    expect(asked).toEqual([1, 1]);
    vi.advanceTimersByTime(2000);
    expect(asked).toEqual([1, 1]);
    vi.advanceTimersByTime(2000);
    expect(asked).toEqual([1, 1, 1]);
    // The replay fills it: nothing more is asked, and a later gap waits the first delay again.
    events.receive(2, 'b');
    events.receive(3, 'c');
    expect(delivered).toEqual(['1:a', '2:b', '3:c']);
    events.receive(5, 'e');
    vi.advanceTimersByTime(1000);
    expect(asked).toEqual([1, 1, 1, 3]);
  });

  it('drops what it held when the connection closes, and starts over for a new session', () => {
    vi.useFakeTimers();
    const { events, delivered, asked } = sequencer();
    events.receive(1, 'a');
    events.receive(3, 'c');
    events.dropHeld();
    vi.advanceTimersByTime(10_000);
    expect(asked).toEqual([]);
    events.receive(2, 'b');
    expect(delivered).toEqual(['1:a', '2:b']);
    events.reset();
    events.receive(1, 'new');
    expect(delivered).toEqual(['1:a', '2:b', '1:new']);
  });
});
