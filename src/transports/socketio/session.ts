import { randomBytes } from 'node:crypto';
import type { SessionId } from '../../store/pairing-store.js';

/** 16 random bytes, base64url: a session id is a bearer secret (it resumes the session), never a counter. */
export const newSessionId = (): SessionId => randomBytes(16).toString('base64url');

const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;

/** The session a reconnecting client claims in `auth: { session }`, if it is well formed. */
export function claimedSession(auth: unknown): SessionId | undefined {
  const session = (auth as { session?: unknown } | null | undefined)?.session;
  return typeof session === 'string' && SESSION_ID.test(session) ? session : undefined;
}
