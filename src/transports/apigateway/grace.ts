import type { SignalingCore } from '../../core/signaling-core.js';
import { type PairingStore, partnerOf, type SessionId } from '../../store/pairing-store.js';

/** Past the grace before looking: the session's record must have expired by then. */
const GRACE_MARGIN_MS = 250;
/** What the invocation keeps for itself after the wait, out of the time its Lambda has left. */
const LAMBDA_RESERVE_MS = 1000;

/**
 * A dropped session's grace, waited out by the $disconnect invocation that started it: no process
 * on Lambda runs a heartbeat, so this is how its partner hears `partner-left` when it never
 * comes back, as on the long-lived server. A session that resumed meanwhile is left alone, and so
 * is a partner carried by no connection (it dropped too: its own resume tells it). When the
 * Lambda has less time left than the grace, the partner learns at its next signal or `ping`.
 */
export async function afterGrace(
  core: SignalingCore,
  store: PairingStore,
  session: SessionId,
  graceMs: number,
  remainingMs: number,
): Promise<void> {
  const waitMs = Math.min(graceMs + GRACE_MARGIN_MS, remainingMs - LAMBDA_RESERVE_MS);
  if (waitMs < graceMs) return;
  // Without a pair there is nobody to tell, and a detached session is never paired: no wait.
  if (!(await store.pairOf(session))) return;
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  if ((await store.connectionsOf([session])).has(session)) return;
  const pair = await store.pairOf(session);
  if (!pair) return;
  const partner = partnerOf(pair, session);
  if (!(await store.connectionsOf([partner])).has(partner)) return;
  // The heartbeat finds the partner orphaned (this session expired) and tells it.
  await core.heartbeat([partner]);
}
