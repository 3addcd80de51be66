/**
 * Subjects: who is behind a session, for reports and bans, without keeping who that is. A subject
 * is HMAC-SHA256(SUBJECT_SALT, address + device token): the same client (address and device) always
 * has the same subject on every instance that shares the salt, and nobody who reads a stored
 * subject (an operator, a Redis dump) can tell the address from it without the salt, which never
 * leaves the server. docs/security.md, "Reports, bans and subjects".
 */
import { createHmac } from 'node:crypto';
import type { Subject } from '../store/pairing-store.js';

/** A device token as clients send it: 16–64 characters of A–Z a–z 0–9 _ - (the SDK makes 32). */
const DEVICE_TOKEN = /^[A-Za-z0-9_-]{16,64}$/;

/**
 * The device token a client sent (socket.io `auth.device`, API Gateway `?device=`), or undefined
 * when it sent none or one of the wrong shape: a malformed token is ignored, not refused, so a
 * client with a broken store still connects (its subject is then its address alone).
 */
export function deviceToken(raw: unknown): string | undefined {
  return typeof raw === 'string' && DEVICE_TOKEN.test(raw) ? raw : undefined;
}

/** The subject of a client at `address` with `device` (or none). */
export function subjectOf(salt: string, address: string, device: string | undefined): Subject {
  // "\n" cannot occur in an address or a token: the two parts can never be confused.
  return createHmac('sha256', salt)
    .update(`${address}\n${device ?? ''}`)
    .digest('hex');
}
