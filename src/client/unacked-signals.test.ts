import { describe, expect, it, vi } from 'vitest';
import type { Ack, Signal } from '../protocol/messages.js';
import { UnackedSignals } from './unacked-signals.js';

const offer: Signal = { type: 'offer', sdp: 'v=0' };
const answer: Signal = { type: 'answer', sdp: 'v=0' };

function recorder() {
  const sent: Array<{ cseq: number; signal: Signal; answered: (ack: Ack) => void }> = [];
  const signals = new UnackedSignals(60_000, (cseq, signal, answered) => sent.push({ cseq, signal, answered }));
  return { sent, signals };
}

describe('UnackedSignals', () => {
  it('numbers signals from 1, sends them again with the same numbers, and settles on the first answer', async () => {
    const { sent, signals } = recorder();
    const first = signals.add(offer, true);
    const second = signals.add(answer, false);
    expect(sent.map(({ cseq }) => cseq)).toEqual([1]);

    signals.resend();
    expect(sent.map(({ cseq, signal }) => [cseq, signal.type])).toEqual([
      [1, 'offer'],
      [1, 'offer'],
      [2, 'answer'],
    ]);
    sent[1]?.answered({ ok: true });
    sent[0]?.answered({ ok: false, error: { code: 'NOT_PAIRED', message: 'late copy' } });
    sent[2]?.answered({ ok: true });
    await expect(first).resolves.toEqual({ ok: true });
    await expect(second).resolves.toEqual({ ok: true });

    signals.resend();
    expect(sent).toHaveLength(3);
  });

  it('rejects what is pending when the session is gone, and numbers from 1 again', async () => {
    const { sent, signals } = recorder();
    const pending = signals.add(offer, true);
    signals.abandon('the session ended');
    await expect(pending).rejects.toThrow('the session ended');
    sent[0]?.answered({ ok: true });

    void signals.add(answer, true).catch(() => {});
    expect(sent.at(-1)?.cseq).toBe(1);
    signals.abandon('done');
  });

  it('rejects a signal nobody answers within the timeout', async () => {
    const signals = new UnackedSignals(20, () => {});
    await expect(signals.add(offer, true)).rejects.toThrow('signal not acknowledged within 20 ms');
  });

  it('sends a signal answered UNAVAILABLE again, with the same number and back-off, until another answer', async () => {
    vi.useFakeTimers();
    try {
      let connected = true;
      const sent: Array<{ cseq: number; answered: (ack: Ack) => void }> = [];
      const signals = new UnackedSignals(
        60_000,
        (cseq, _signal, answered) => sent.push({ cseq, answered }),
        () => connected,
      );
      const unavailable: Ack = { ok: false, error: { code: 'UNAVAILABLE', message: 'retry shortly' } };
      const result = signals.add(offer, true);
      sent[0]?.answered(unavailable);
      await vi.advanceTimersByTimeAsync(249);
      expect(sent).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(sent.map(({ cseq }) => cseq)).toEqual([1, 1]);
      // Disconnected when the next try is due: nothing is written; the resume's resend sends it.
      sent[1]?.answered(unavailable);
      connected = false;
      await vi.advanceTimersByTimeAsync(500);
      expect(sent).toHaveLength(2);
      connected = true;
      signals.resend();
      expect(sent).toHaveLength(3);
      sent[2]?.answered({ ok: true });
      await expect(result).resolves.toEqual({ ok: true });
      await vi.advanceTimersByTimeAsync(5000);
      expect(sent).toHaveLength(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('settles with any other refusal at once', async () => {
    const { sent, signals } = recorder();
    const result = signals.add(offer, true);
    sent[0]?.answered({ ok: false, error: { code: 'NOT_PAIRED', message: 'no partner' } });
    await expect(result).resolves.toMatchObject({ ok: false, error: { code: 'NOT_PAIRED' } });
  });
});
