import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import { proofPayloadSchema } from '../protocol/messages.js';
import type { PairingStore, SessionId } from '../store/pairing-store.js';
import type { ProofFault, ProofOfWork } from './proof-of-work.js';

/**
 * The bot gate as the signaling core sees it (docs/security.md, "Bot gate"): a session proves
 * itself once, with `proof`, before it may `join`, `next` or `block`. What it remembers lives in
 * the store (`mark`), so every instance and every Lambda agrees, and a session stays verified
 * when it resumes.
 */
export interface BotGate {
  /** A challenge for `session`; `join`: the automatic join on connect waits for its proof. */
  challenge(session: SessionId, options: { join: boolean }): string;
  /** Whether `session` proved itself (within the verified time). */
  isVerified(session: SessionId): Promise<boolean>;
  /**
   * Checks the `proof` payload and records the session as verified. Throws PROOF_INVALID (with a
   * fresh challenge) and changes nothing when it is wrong, expired, another session's, or spent.
   * Returns whether the automatic join waits for it.
   */
  prove(session: SessionId, payload: unknown): Promise<{ join: boolean }>;
}

export interface ProofOfWorkGateOptions {
  store: PairingStore;
  work: ProofOfWork;
  /** How long a session stays verified (BOT_GATE_VERIFIED_TTL_MS); after that it proves itself again. */
  verifiedTtlMs: number;
}

const MESSAGES: Record<ProofFault | 'spent', string> = {
  malformed: 'this is not a challenge this server issued',
  expired: 'the challenge expired: solve the new one',
  forged: 'the challenge was not issued to this session',
  'too-easy': 'the challenge is easier than this server asks now: solve the new one',
  wrong: 'the nonce does not solve the challenge',
  spent: 'this challenge was answered before: solve the new one',
};

/** The proof-of-work gate: HMAC-signed hashcash challenges, each spent once (store `mark`). */
export class ProofOfWorkGate implements BotGate {
  readonly #store: PairingStore;
  readonly #work: ProofOfWork;
  readonly #verifiedTtlMs: number;

  constructor(options: ProofOfWorkGateOptions) {
    this.#store = options.store;
    this.#work = options.work;
    this.#verifiedTtlMs = options.verifiedTtlMs;
  }

  challenge(session: SessionId, options: { join: boolean }): string {
    return this.#work.issue(session, options);
  }

  isVerified(session: SessionId): Promise<boolean> {
    return this.#store.isMarked(verifiedKey(session));
  }

  async prove(session: SessionId, payload: unknown): Promise<{ join: boolean }> {
    const parsed = proofPayloadSchema.safeParse(payload);
    if (!parsed.success) {
      throw new ProtocolError(
        ErrorCode.INVALID_PAYLOAD,
        `proof takes { challenge, nonce }: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
      );
    }
    const now = Date.now();
    const checked = this.#work.check(session, parsed.data.challenge, parsed.data.nonce, now);
    if ('fault' in checked) throw this.#invalid(session, checked.fault, checked.join);
    const { challenge } = checked;
    // Spent once, everywhere, until it would have expired anyway: a replay is refused.
    const first = await this.#store.mark(`proof:${challenge.id}`, Math.max(1, challenge.expiresAt - now));
    if (!first) throw this.#invalid(session, 'spent', false);
    await this.#store.mark(verifiedKey(session), this.#verifiedTtlMs);
    return { join: challenge.join };
  }

  /** The refusal, with a fresh challenge that keeps the automatic join waiting if the refused one did. */
  #invalid(session: SessionId, fault: ProofFault | 'spent', join: boolean): ProtocolError {
    return new ProtocolError(ErrorCode.PROOF_INVALID, MESSAGES[fault], undefined, this.challenge(session, { join }));
  }
}

function verifiedKey(session: SessionId): string {
  return `verified:${session}`;
}
