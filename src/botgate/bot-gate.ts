import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import type { PairingStore, SessionId } from '../store/pairing-store.js';

/**
 * The automatic join a challenge carries: whether the join the connection asked for waits for the
 * proof, and the matchmaking preferences it asked for (validated). On API Gateway the proof comes
 * in another invocation than the `resume` that asked, and nothing else keeps them meanwhile.
 */
export interface AutoJoin {
  join: boolean;
  preferences?: Record<string, unknown>;
}

/**
 * The bot gate as the signaling core sees it (docs/security.md, "Bot gate"): a session proves
 * itself once, with `proof`, before it may `join`, `next` or `block`. What it remembers lives in
 * the store (`mark`), so every instance and every Lambda agrees, and a session stays verified
 * when it resumes.
 */
export interface BotGate {
  /** A challenge for `session`; `join`: the automatic join on connect waits for its proof (with `preferences`). */
  challenge(session: SessionId, options: AutoJoin): string;
  /** Whether `session` proved itself (within the verified time). */
  isVerified(session: SessionId): Promise<boolean>;
  /**
   * Checks the `proof` payload and records the session as verified. Throws PROOF_INVALID (with a
   * fresh challenge) and changes nothing when it is wrong, expired, another session's, or spent.
   * Returns whether the automatic join waits for it, and with which preferences.
   */
  prove(session: SessionId, payload: unknown): Promise<AutoJoin>;
}

/**
 * One way for a session to show it is no cheap script: proof-of-work (proof-of-work-verifier.ts),
 * or an external human-verification service (site-verify.ts). A verifier checks one answer;
 * remembering who passed is the gate's.
 */
export interface Verifier {
  /** What `session` is sent to answer; the automatic join travels in it (it waits for the answer). */
  challenge(session: SessionId, options: AutoJoin): string;
  /**
   * Checks `session`'s `proof` payload, spending its challenge: the automatic join it carried, or a throw (PROOF_INVALID with a fresh challenge, INVALID_PAYLOAD, UNAVAILABLE) that
   * leaves everything as it was.
   */
  verify(session: SessionId, payload: unknown): Promise<AutoJoin>;
}

export interface VerifyingGateOptions {
  store: PairingStore;
  verifier: Verifier;
  /** How long a session stays verified (BOT_GATE_VERIFIED_TTL_MS); after that it proves itself again. */
  verifiedTtlMs: number;
}

/** The gate over any verifier: a session that passed once is marked verified in the store. */
export class VerifyingGate implements BotGate {
  readonly #store: PairingStore;
  readonly #verifier: Verifier;
  readonly #verifiedTtlMs: number;

  constructor(options: VerifyingGateOptions) {
    this.#store = options.store;
    this.#verifier = options.verifier;
    this.#verifiedTtlMs = options.verifiedTtlMs;
  }

  challenge(session: SessionId, options: AutoJoin): string {
    return this.#verifier.challenge(session, options);
  }

  isVerified(session: SessionId): Promise<boolean> {
    return this.#store.isMarked(verifiedKey(session));
  }

  async prove(session: SessionId, payload: unknown): Promise<AutoJoin> {
    const verdict = await this.#verifier.verify(session, payload);
    await this.#store.mark(verifiedKey(session), this.#verifiedTtlMs);
    return verdict;
  }
}

/** PROOF_INVALID, with a fresh challenge that keeps the automatic join waiting if the refused one did. */
export function proofInvalid(
  verifier: Verifier,
  session: SessionId,
  message: string,
  autoJoin: AutoJoin,
): ProtocolError {
  return new ProtocolError(ErrorCode.PROOF_INVALID, message, undefined, verifier.challenge(session, autoJoin));
}

/** Spends the challenge `id` once, everywhere, until `expiresAt` (a replay is refused meanwhile); false when spent before. */
export function spendChallenge(store: PairingStore, id: string, expiresAt: number, now = Date.now()): Promise<boolean> {
  return store.mark(`proof:${id}`, Math.max(1, expiresAt - now));
}

function verifiedKey(session: SessionId): string {
  return `verified:${session}`;
}
