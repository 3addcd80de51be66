/**
 * Hashcash-style proof-of-work challenges, stateless: a challenge is a token the server signs with
 * its secret (HMAC-SHA256), binding the session it was issued to, its difficulty, its expiry, a
 * random id and the automatic join that waits for it (with its preferences, if any). Any instance
 * holding the secret checks one without a store round trip; only spending it (once) touches the
 * store (bot-gate.ts).
 *
 *   challenge = "<difficulty>.<expiresAt ms>.<join 0|1>.<random id>[.<preferences>].<mac>"
 *   mac       = base64url(HMAC-SHA256(secret, "<session>.<everything before the mac>"))
 *   preferences = base64url(JSON) of the automatic join's preferences, absent without any
 *   proof     = a nonce (1–32 characters of 0-9 a-z) such that SHA-256(challenge + nonce) starts
 *               with <difficulty> zero bits.
 *
 * The session is in the MAC, not in the token: a challenge says nothing about whose it is, and
 * answers for no other session.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AutoJoin } from './bot-gate.js';

export interface Challenge {
  difficulty: number;
  expiresAt: number;
  /** The automatic join on connect waits for this proof: the server joins for the client once it is accepted. */
  join: boolean;
  /** The preferences of that join (signed with the rest: what the client asked for, checked at the join). */
  preferences?: Record<string, unknown>;
  /** Unique per challenge: what is recorded as spent. */
  id: string;
}

/** Why a proof is refused, for the refusal's message. */
export type ProofFault = 'malformed' | 'expired' | 'forged' | 'too-easy' | 'wrong';

export type Checked = { challenge: Challenge } | ({ fault: ProofFault } & AutoJoin);

/** The longest preferences segment: ten 32-character interests in any script, and the rest, as base64url JSON. */
export const MAX_PREFERENCES_CHARS = 2400;

const TOKEN = new RegExp(
  `^(\\d{1,2})\\.(\\d{1,15})\\.([01])\\.([A-Za-z0-9_-]{16})(?:\\.([A-Za-z0-9_-]{1,${MAX_PREFERENCES_CHARS}}))?\\.([A-Za-z0-9_-]{43})$`,
);

export class ProofOfWork {
  readonly #secret: Buffer;
  readonly #difficulty: number;
  readonly #ttlMs: number;

  constructor(options: { secret: string | Buffer; difficulty: number; ttlMs: number }) {
    this.#secret = Buffer.isBuffer(options.secret) ? options.secret : Buffer.from(options.secret, 'utf8');
    this.#difficulty = options.difficulty;
    this.#ttlMs = options.ttlMs;
  }

  /** A new challenge for `session`; pure CPU (one HMAC), nothing is stored. */
  issue(session: string, options: AutoJoin & { now?: number }): string {
    const expiresAt = (options.now ?? Date.now()) + this.#ttlMs;
    let fields = `${this.#difficulty}.${expiresAt}.${options.join ? 1 : 0}.${randomBytes(12).toString('base64url')}`;
    const preferences = options.preferences && Buffer.from(JSON.stringify(options.preferences)).toString('base64url');
    // Too long to be what a join accepts: left out (the join is then for anyone, as a join without them).
    if (preferences && preferences.length <= MAX_PREFERENCES_CHARS) fields += `.${preferences}`;
    return `${fields}.${this.#mac(session, fields)}`;
  }

  /**
   * Checks `nonce` against `token` for `session`: the challenge it proves, or why not (and, when
   * the token is ours, whether its automatic join waits, for the challenge that replaces it).
   * Touches no store.
   */
  check(session: string, token: string, nonce: string, now = Date.now()): Checked {
    const match = TOKEN.exec(token);
    if (!match) return { fault: 'malformed', join: false };
    const [, difficulty, expiresAt, join, id, preferences, mac] = match as unknown as [
      string,
      string,
      string,
      string,
      string,
      string | undefined,
      string,
    ];
    const expected = Buffer.from(this.#mac(session, token.slice(0, token.length - mac.length - 1)), 'base64url');
    if (!timingSafeEqual(expected, Buffer.from(mac, 'base64url'))) return { fault: 'forged', join: false };
    const challenge: Challenge = {
      difficulty: Number(difficulty),
      expiresAt: Number(expiresAt),
      join: join === '1',
      id,
    };
    // Ours (the MAC says so), so the JSON is what issue() wrote.
    if (preferences) challenge.preferences = JSON.parse(Buffer.from(preferences, 'base64url').toString('utf8'));
    const autoJoin = autoJoinOf(challenge);
    if (challenge.expiresAt <= now) return { fault: 'expired', ...autoJoin };
    // Signed by us, but with a difficulty lowered since: not enough work any more.
    if (challenge.difficulty < this.#difficulty) return { fault: 'too-easy', ...autoJoin };
    if (
      leadingZeroBits(
        createHash('sha256')
          .update(token + nonce)
          .digest(),
      ) < challenge.difficulty
    ) {
      return { fault: 'wrong', ...autoJoin };
    }
    return { challenge };
  }

  #mac(session: string, fields: string): string {
    return createHmac('sha256', this.#secret).update(`${session}.${fields}`).digest('base64url');
  }
}

/** The automatic join a challenge carries. */
export function autoJoinOf(challenge: Challenge): AutoJoin {
  return challenge.preferences
    ? { join: challenge.join, preferences: challenge.preferences }
    : { join: challenge.join };
}

/** How many zero bits `digest` starts with. */
export function leadingZeroBits(digest: Uint8Array): number {
  let bits = 0;
  for (const byte of digest) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}
