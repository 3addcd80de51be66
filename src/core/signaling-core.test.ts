import { describe, expect, it } from 'vitest';
import type { ServerEvents, Signal } from '../protocol/messages.js';
import { MemoryPairingStore } from '../store/memory-store.js';
import type { Pair, SessionId } from '../store/pairing-store.js';
import type { Delivery } from './delivery.js';
import { type CoreOptions, SignalingCore } from './signaling-core.js';

/**
 * The core's own ordering rules, checked without any transport: a Delivery that writes what it
 * is asked to do into one log, in call order.
 */
function recordingDelivery(log: string[]): Delivery {
  return {
    send<E extends keyof ServerEvents>(to: SessionId, event: E) {
      log.push(`${event} → ${to}`);
    },
    relay(_pair: Pair, from: SessionId, signal: Signal) {
      log.push(`relay ${signal.type} from ${from}`);
    },
    bind(pair: Pair) {
      log.push(`bind ${pair.initiator}+${pair.polite}`);
    },
    unbindLost(session: SessionId) {
      log.push(`unbind lost ${session}`);
    },
    unbind(pair: Pair) {
      log.push(`unbind ${pair.initiator}+${pair.polite}`);
    },
  };
}

function coreWith(log: string[], iceServers: CoreOptions['iceServers']) {
  return new SignalingCore({
    store: new MemoryPairingStore(),
    delivery: recordingDelivery(log),
    limits: { maxSdpBytes: 65_536, maxCandidateBytes: 4096 },
    iceServers,
    resumeGraceMs: 1000,
  });
}

describe('SignalingCore', () => {
  it('a waiting client whose `next` races another join is simply paired, not refused', async () => {
    const log: string[] = [];
    const core = coreWith(log, () => []);
    await core.connect('a');
    await core.connect('b');
    expect(await core.handle('join', 'a', undefined)).toEqual({ ok: true, status: 'waiting' });

    // Both start in the same tick: b's join matches a between the two steps of a's `next`.
    const [next, join] = await Promise.all([core.handle('next', 'a', undefined), core.handle('join', 'b', undefined)]);

    expect(join).toEqual({ ok: true, status: 'paired' });
    expect(next).toEqual({ ok: true, status: 'paired' });
    expect(log.filter((line) => line.startsWith('paired'))).toEqual(['paired → b', 'paired → a']);
  });

  it('announces a pair in the turn that made it: a next racing the match cannot end it first', async () => {
    const log: string[] = [];
    const core = coreWith(log, () => []);
    await core.connect('a');
    await core.connect('b');
    await core.handle('join', 'a', undefined);

    // b's join matches a in the store; a's `next`, sent at the same moment, ends that pair.
    await Promise.all([core.handle('join', 'b', undefined), core.handle('next', 'a', undefined)]);

    // b hears of the pair before it hears it ended, and the ended pair is not left bound.
    const at = (line: string) => log.indexOf(line);
    expect(at('paired → b')).toBeGreaterThan(-1);
    expect(at('partner-left → b')).toBeGreaterThan(at('paired → b'));
    expect(log.filter((line) => /bind a\+b/.test(line)).at(-1)).toBe('unbind a+b');
  });

  it('lets nothing run between binding a pair and telling both sides, when delivery is synchronous', async () => {
    const log: string[] = [];
    const bound = new Set<SessionId>();
    let core: SignalingCore | undefined;
    const delivery: Delivery = {
      ...recordingDelivery(log),
      // Like socket.io's: relays through the binding this process holds, without the store.
      relayBound(from, signal) {
        if (!bound.has(from)) return false;
        log.push(`relay ${signal.type} from ${from}`);
        return true;
      },
      bind(pair) {
        log.push(`bind ${pair.initiator}+${pair.polite}`);
        bound.add(pair.initiator).add(pair.polite);
        // Another client's command, ready to run at the next chance it gets.
        queueMicrotask(() => void core?.handle('signal', pair.initiator, { type: 'offer', sdp: 'v=0' }));
      },
    };
    core = new SignalingCore({
      store: new MemoryPairingStore(),
      delivery,
      limits: { maxSdpBytes: 65_536, maxCandidateBytes: 4096 },
      iceServers: () => [],
      resumeGraceMs: 1000,
    });
    await core.connect('a');
    await core.connect('b');
    await core.handle('join', 'a', undefined);
    await core.handle('join', 'b', undefined);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(log.slice(log.indexOf('bind a+b'))).toEqual(['bind a+b', 'paired → b', 'paired → a', 'relay offer from a']);
  });
});

describe('SignalingCore.relayNow', () => {
  const offer: Signal = { type: 'offer', sdp: 'v=0' };
  const withBinding = (log: string[], bound: Set<SessionId> | undefined) =>
    new SignalingCore({
      store: new MemoryPairingStore(),
      delivery: {
        ...recordingDelivery(log),
        ...(bound && {
          relayBound(from: SessionId, signal: Signal) {
            if (!bound.has(from)) return false;
            log.push(`relayBound ${signal.type} from ${from}`);
            return true;
          },
        }),
      },
      limits: { maxSdpBytes: 16, maxCandidateBytes: 16 },
      iceServers: () => [],
      resumeGraceMs: 1000,
    });

  it('relays in the same turn when the transport knows the pair, and acks', () => {
    const log: string[] = [];
    expect(withBinding(log, new Set(['a'])).relayNow('a', offer)).toEqual({ ok: true });
    expect(log).toEqual(['relayBound offer from a']);
  });

  it('defers to `handle` (undefined) when the transport knows no pair or has no fast path', () => {
    const log: string[] = [];
    expect(withBinding(log, new Set()).relayNow('a', offer)).toBeUndefined();
    expect(withBinding(log, undefined).relayNow('a', offer)).toBeUndefined();
    expect(log).toEqual([]);
  });

  it('answers INTERNAL, without throwing, when the transport fails, and reports it', () => {
    const faults: unknown[] = [];
    const core = new SignalingCore({
      store: new MemoryPairingStore(),
      delivery: {
        ...recordingDelivery([]),
        relayBound() {
          throw new Error('adapter broke');
        },
      },
      limits: { maxSdpBytes: 16, maxCandidateBytes: 16 },
      iceServers: () => [],
      resumeGraceMs: 1000,
      onInternalError: (error) => faults.push(error),
    });
    expect(core.relayNow('a', offer)).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
    expect(faults).toEqual([new Error('adapter broke')]);
  });

  it('refuses a bad signal with its typed error and relays nothing', () => {
    const log: string[] = [];
    const core = withBinding(log, new Set(['a']));
    expect(core.relayNow('a', { type: 'offer', sdp: 'v=0', extra: 1 })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_PAYLOAD' },
    });
    expect(core.relayNow('a', { type: 'offer', sdp: 'x'.repeat(17) })).toMatchObject({
      ok: false,
      error: { code: 'PAYLOAD_TOO_LARGE' },
    });
    expect(log).toEqual([]);
  });
});
