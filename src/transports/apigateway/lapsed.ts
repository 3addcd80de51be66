import type { SignalingCore } from '../../core/signaling-core.js';
import { type PairingStore, partnerOf, type SessionId } from '../../store/pairing-store.js';

/** How many lapsed drops one pass claims: each costs a few Redis calls and maybe a post. */
export const LAPSED_PER_PASS = 25;

/**
 * Tells the partners of dropped sessions whose grace ran out (the store recorded each drop with
 * its detach, PairingStore.claimLapsed): no process on Lambda runs a heartbeat, so whichever
 * invocation comes by after the grace does it, each drop once. A session that resumed meanwhile is
 * left alone, and so is a partner carried by no connection (it dropped too: its own resume tells
 * it). Returns how long until the next recorded drop lapses (0: more are due now), or null when
 * none is recorded.
 */
export async function tellLapsed(core: SignalingCore, store: PairingStore): Promise<number | null> {
  const { sessions, nextInMs } = await store.claimLapsed(LAPSED_PER_PASS);
  // Claimed means handed to this pass alone: one that fails does not keep the others from their turn.
  const failed = (await Promise.allSettled(sessions.map((session) => tellPartner(core, store, session)))).find(
    (outcome) => outcome.status === 'rejected',
  );
  if (failed) throw failed.reason;
  return sessions.length === LAPSED_PER_PASS ? 0 : nextInMs;
}

async function tellPartner(core: SignalingCore, store: PairingStore, session: SessionId): Promise<void> {
  if ((await store.connectionsOf([session])).has(session)) return;
  const pair = await store.pairOf(session);
  if (!pair) return;
  const partner = partnerOf(pair, session);
  if (!(await store.connectionsOf([partner])).has(partner)) return;
  // The heartbeat finds the partner orphaned (the session's record expired with its grace) and tells it.
  await core.heartbeat([partner]);
}
