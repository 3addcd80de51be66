import { randomBytes } from 'node:crypto';
import type { SessionId } from '../store/pairing-store.js';

/**
 * Session ids for every transport. A session id is a bearer secret (presenting it resumes the
 * session and its pair), so it is 16 random bytes, never a counter.
 */
export const newSessionId = (): SessionId => randomBytes(16).toString('base64url');

const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;

/** True for a string shaped like an id `newSessionId` makes (whether it exists is the store's to say). */
export const isSessionId = (value: unknown): value is SessionId => typeof value === 'string' && SESSION_ID.test(value);
