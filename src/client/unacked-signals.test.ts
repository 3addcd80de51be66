import { describe, expect, it } from 'vitest';
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
});
