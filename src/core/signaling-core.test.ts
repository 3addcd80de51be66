import { describe, expect, it } from 'vitest';
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import { MemoryPairingStore } from '../store/memory-store.js';
import type { OutboxLimits, SessionId } from '../store/pairing-store.js';
import type { Delivery } from './delivery.js';
import { type CoreOptions, SignalingCore } from './signaling-core.js';

/**
 * The core's own rules, checked without any transport: a Delivery that writes what it is handed
 * into one log, in call order, as "event → session #seq".
 */
function recordingDelivery(log: string[]): Delivery & { caughtUp: Map<SessionId, number>[] } {
  const caughtUp: Map<SessionId, number>[] = [];
  return {
    caughtUp,
    deliver(events) {
      for (const out of events) log.push(`${out.event.name} → ${out.to} #${out.seq}`);
    },
    lost(sessions) {
      for (const session of sessions) log.push(`lost ${session}`);
    },
    catchUp(lastSeq) {
      caughtUp.push(new Map(lastSeq));
    },
    idle(session) {
      log.push(`idle ${session}`);
    },
  };
}

function coreWith(log: string[], options: Partial<CoreOptions> & { outbox?: OutboxLimits } = {}) {
  const store = new MemoryPairingStore(options.outbox ? { outbox: options.outbox } : {});
  const delivery = recordingDelivery(log);
  const core = new SignalingCore({
    store,
    delivery,
    limits: { maxSdpBytes: 65_536, maxCandidateBytes: 4096 },
    resumeGraceMs: 1000,
    ...options,
  });
  return { core, store, delivery };
}

const offer = { type: 'offer', sdp: 'v=0' } as const;

describe('SignalingCore', () => {
  it('rematch pairs waiting sessions whose fallback passed and announces the pair to both; the rest keep waiting', async () => {
    const log: string[] = [];
    const { core, store } = coreWith(log);
    for (const session of ['a', 'b', 'c']) await core.connect(session);
    await core.handle('join', 'a', { interests: ['chess'], fallbackMs: 20 });
    await core.handle('join', 'b', { interests: ['go'], fallbackMs: 20 });
    await core.handle('join', 'c', { interests: ['jazz'], fallbackMs: null });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const { sessions } = await store.claimDueFallbacks(10);
    expect(sessions).toEqual(['a', 'b']);
    await core.rematch(sessions);
    expect(log.filter((line) => line.startsWith('paired'))).toEqual(['paired → b #2', 'paired → a #2']);
    expect(await store.queueLength()).toBe(1);
  });

  it('a waiting client whose `next` races another join is simply paired, not refused', async () => {
    const log: string[] = [];
    const { core } = coreWith(log);
    await core.connect('a');
    await core.connect('b');
    expect(await core.handle('join', 'a', undefined)).toEqual({ ok: true, status: 'waiting' });

    // Both start in the same tick: b's join matches a between the two steps of a's `next`.
    const [next, join] = await Promise.all([core.handle('next', 'a', undefined), core.handle('join', 'b', undefined)]);

    expect(join).toEqual({ ok: true, status: 'paired' });
    expect(next).toEqual({ ok: true, status: 'paired' });
    expect(log.filter((line) => line.startsWith('paired'))).toEqual(['paired → b #1', 'paired → a #2']);
  });

  it('hands every event the store appended to delivery, numbered per session', async () => {
    const log: string[] = [];
    const { core } = coreWith(log);
    await core.connect('a');
    await core.connect('b');
    await core.handle('join', 'a', undefined);
    await core.handle('join', 'b', undefined);
    expect(await core.handle('signal', 'a', offer)).toEqual({ ok: true });
    expect(await core.handle('next', 'b', undefined)).toEqual({ ok: true, status: 'waiting' });
    expect(log).toEqual([
      'waiting → a #1',
      'paired → b #1',
      'paired → a #2',
      'signal → b #2',
      'partner-left → a #3',
      'waiting → b #3',
    ]);
  });

  it('refuses a signal the transport cannot carry before anything is relayed', async () => {
    const log: string[] = [];
    const { core } = coreWith(log, {
      checkSignal: () => {
        throw new ProtocolError(ErrorCode.PAYLOAD_TOO_LARGE, 'too big for this transport');
      },
    });
    await core.connect('a');
    await core.connect('b');
    await core.handle('join', 'a', undefined);
    await core.handle('join', 'b', undefined);
    expect(await core.handle('signal', 'a', offer)).toMatchObject({ ok: false, error: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(log.some((line) => line.startsWith('signal'))).toBe(false);
  });

  it('tells a sender whose partner stopped reading that the partner is gone, never a silent ok', async () => {
    const log: string[] = [];
    const { core } = coreWith(log, { outbox: { maxEvents: 2, maxBytes: 65_536 } });
    await core.connect('a');
    await core.connect('b');
    await core.handle('join', 'a', undefined);
    await core.handle('join', 'b', undefined);
    await core.handle('ack', 'a', { seq: 2 });
    expect(await core.handle('signal', 'a', offer)).toEqual({ ok: true }); // b: paired, signal: full
    expect(await core.handle('signal', 'a', offer)).toMatchObject({ ok: false, error: { code: 'NOT_PAIRED' } });
    // b's connection is closed at once, and a hears why its signal went nowhere.
    expect(log.slice(-2)).toEqual(['lost b', 'partner-left → a #3']);
  });

  it('closes a session the store lost when it next asks for anything', async () => {
    const log: string[] = [];
    const { core } = coreWith(log);
    expect(await core.handle('join', 'ghost', undefined)).toMatchObject({
      ok: false,
      error: { code: 'SESSION_LOST' },
    });
    expect(log).toEqual(['lost ghost']);
  });

  it('refuses a malformed ack and forgets what a good one acknowledges', async () => {
    const log: string[] = [];
    const { core, store } = coreWith(log);
    await core.connect('a');
    await core.handle('join', 'a', undefined);
    expect(await core.handle('ack', 'a', { seq: -1 })).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
    expect(await core.handle('ack', 'a', 1)).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
    expect(await store.replay('a', 0)).toHaveLength(1);
    expect(await core.handle('ack', 'a', { seq: 1 })).toEqual({ ok: true });
    expect(await store.replay('a', 0)).toEqual([]);
  });

  it('on heartbeat: tells a session whose partner is gone, closes lost ones, and lets the rest catch up', async () => {
    const log: string[] = [];
    const { core, store, delivery } = coreWith(log);
    await core.connect('a');
    await core.connect('b');
    await core.handle('join', 'a', undefined);
    await core.handle('join', 'b', undefined);
    await store.release('b'); // gone without the core ending its pair (its instance died)
    await core.heartbeat(['a', 'b']);
    expect(log.slice(-2)).toEqual(['lost b', 'partner-left → a #3']);
    // The seqs as the store had them when asked, before the partner-left it then appended.
    expect(delivery.caughtUp.at(-1)).toEqual(new Map([['a', 2]]));
  });

  it('refuses join, next, block and report of a banned subject with BANNED and retryAfterMs, changing nothing', async () => {
    const log: string[] = [];
    const { core, store } = coreWith(log);
    await core.connect('a', 'subject-a');
    await core.connect('b', 'subject-b');
    await core.handle('join', 'a', undefined);
    const paired = await core.handle('join', 'b', undefined);
    expect(paired).toEqual({ ok: true, status: 'paired' });
    const room = (await store.pairOf('a'))?.id;
    const until = Date.now() + 60_000;
    await store.ban({ subject: 'subject-a', reason: 'test', by: 'operator', at: Date.now(), until });
    expect(await core.admit('subject-a')).toMatchObject({ code: 'BANNED' });
    expect(await core.admit('subject-b')).toBeNull();
    for (const [command, payload] of [
      ['join', undefined],
      ['next', undefined],
      ['block', undefined],
      ['report', { room, reason: 'spam' }],
    ] as const) {
      const refused = await core.handle(command, 'a', payload);
      expect(refused).toMatchObject({ ok: false, error: { code: ErrorCode.BANNED } });
      if (!refused.ok) expect(refused.error.retryAfterMs).toBeGreaterThan(50_000);
    }
    expect((await store.pairOf('a'))?.id).toBe(room);
    // The partner is not banned: it may report.
    expect(await core.handle('report', 'b', { room, reason: 'spam' })).toMatchObject({ ok: true });
  });
});
