import { afterEach, describe, expect, it, vi } from 'vitest';
import { CommandQueue } from './command-queue.js';

const offer = { type: 'offer', sdp: 'v=0' };
const candidate = { type: 'candidate', candidate: { candidate: 'candidate:1', sdpMid: '0', sdpMLineIndex: 0 } };
const unavailable = { ok: false, error: { code: 'UNAVAILABLE', message: 'retry shortly' } };

/** A queue whose frames are recorded, flushed whenever it wakes, as the WebSocket client does. */
function recorder() {
  const frames: Array<{ action: string; id: number; cseq?: number }> = [];
  const send = (frame: string) => frames.push(JSON.parse(frame) as { action: string; id: number; cseq?: number });
  const queue: CommandQueue = new CommandQueue(60_000, () => queue.flush(send));
  return { frames, queue, flush: () => queue.flush(send) };
}

describe('CommandQueue', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends a signal answered UNAVAILABLE again with its number, ahead of what follows it, until another answer', async () => {
    vi.useFakeTimers();
    const { frames, queue, flush } = recorder();
    const first = queue.issue('signal', offer);
    const second = queue.issue('signal', candidate);
    const next = queue.issue('next', undefined);
    flush();
    expect(frames.map(({ action, cseq }) => [action, cseq])).toEqual([
      ['signal', 1],
      ['signal', 2],
    ]);

    expect(queue.answered(frames[0]?.id ?? 0, unavailable)).toBeUndefined();
    expect(queue.answered(frames[1]?.id ?? 0, { ok: true })?.ack).toEqual({ ok: true });
    // Still in flight while it waits for its pause: `next` does not overtake it.
    flush();
    expect(frames).toHaveLength(2);

    await vi.advanceTimersByTimeAsync(250);
    expect(frames.map(({ action, cseq }) => [action, cseq])).toEqual([
      ['signal', 1],
      ['signal', 2],
      ['signal', 1],
    ]);
    expect(frames[2]?.id).not.toBe(frames[0]?.id);
    queue.answered(frames[2]?.id ?? 0, { ok: true });
    await expect(first).resolves.toEqual({ ok: true });
    await expect(second).resolves.toEqual({ ok: true });

    flush();
    expect(frames[3]?.action).toBe('next');
    queue.answered(frames[3]?.id ?? 0, { ok: true, status: 'waiting' });
    await expect(next).resolves.toEqual({ ok: true, status: 'waiting' });
  });

  it('waits longer after each UNAVAILABLE, and hands any other refusal to its caller at once', async () => {
    vi.useFakeTimers();
    const { frames, queue } = recorder();
    const signal = queue.issue('signal', offer);
    queue.flush((frame) => frames.push(JSON.parse(frame)));
    queue.answered(frames[0]?.id ?? 0, unavailable);
    await vi.advanceTimersByTimeAsync(250);
    queue.answered(frames[1]?.id ?? 0, unavailable);
    await vi.advanceTimersByTimeAsync(499);
    expect(frames).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(frames).toHaveLength(3);
    const refusal = { ok: false, error: { code: 'NOT_PAIRED', message: 'no partner' } };
    queue.answered(frames[2]?.id ?? 0, refusal);
    await expect(signal).resolves.toEqual(refusal);
  });

  it('leaves a retry to the resume when the connection closes during its pause', async () => {
    vi.useFakeTimers();
    const { frames, queue, flush } = recorder();
    void queue.issue('signal', offer);
    flush();
    queue.answered(frames[0]?.id ?? 0, unavailable);
    queue.disconnected();
    flush();
    await vi.advanceTimersByTimeAsync(2_000);
    // Sent once by the resume's flush, not a second time by the retry's pause.
    expect(frames.map(({ cseq }) => cseq)).toEqual([1, 1]);
  });
});
