import { createHash, createHmac } from 'node:crypto';
import type { IceServer } from '../protocol/messages.js';

/** The TURN part of the configuration. */
export function turnSettings(config: {
  turnUrls: string[];
  turnSecret: string | undefined;
  turnTtlSeconds: number;
}): TurnSettings {
  return { urls: config.turnUrls, secret: config.turnSecret, ttlSeconds: config.turnTtlSeconds };
}

export interface TurnSettings {
  /** TURN URLs (turn:, turns:) to hand out with credentials; none means STUN only. */
  urls: string[];
  /** The shared secret configured in coturn (`use-auth-secret`, `static-auth-secret`). Never sent. */
  secret: string | undefined;
  /** How long a credential stays valid. */
  ttlSeconds: number;
}

/**
 * Time-limited TURN credentials in the TURN REST format coturn accepts with `use-auth-secret`:
 * username `<expiry unix time>:<user id>`, password `base64(HMAC-SHA1(secret, username))`.
 */
export function turnCredential(
  secret: string,
  ttlSeconds: number,
  userId: string,
  nowMs = Date.now(),
): { username: string; credential: string } {
  const username = `${Math.floor(nowMs / 1000) + ttlSeconds}:${userId}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

/**
 * The ICE servers one user gets: the static list, plus the TURN URLs with a fresh credential
 * when a secret is configured. The user id in the username is derived from the session, never
 * the session id itself (a secret), so TURN logs can correlate a user without learning it.
 */
export function iceServersFor(staticServers: IceServer[], turn: TurnSettings, user: string): IceServer[] {
  if (!turn.secret || turn.urls.length === 0) return staticServers;
  const userId = createHash('sha256').update(user).digest('base64url').slice(0, 16);
  return [...staticServers, { urls: turn.urls, ...turnCredential(turn.secret, turn.ttlSeconds, userId) }];
}
