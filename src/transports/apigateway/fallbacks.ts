import type { SignalingCore } from '../../core/signaling-core.js';
import type { PairingStore } from '../../store/pairing-store.js';

/** How many due fallbacks one pass claims: each costs a rematch (a Redis call) and maybe two posts. */
export const FALLBACKS_PER_PASS = 25;

/**
 * Pairs waiting sessions whose fallback has passed (they waited with interests for `fallbackMs`
 * and accept anyone now) with whoever compatible waits, each claimed once
 * (PairingStore.claimDueFallbacks). A long-lived server's heartbeat does this for its sessions; on
 * Lambda nothing runs unless a frame comes in, so two clients whose fallbacks passed while both
 * waited would wait for a third one to join, or for their own `ping`. The scheduled sweep calls
 * this. Returns how long until the next waiting session's fallback passes (0: more are due now),
 * or null when none is pending.
 */
export async function pairDueFallbacks(core: SignalingCore, store: PairingStore): Promise<number | null> {
  const { sessions, nextInMs } = await store.claimDueFallbacks(FALLBACKS_PER_PASS);
  await core.rematch(sessions);
  return sessions.length === FALLBACKS_PER_PASS ? 0 : nextInMs;
}
