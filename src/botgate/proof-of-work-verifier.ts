import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import { proofPayloadSchema } from '../protocol/schemas.js';
import type { PairingStore, SessionId } from '../store/pairing-store.js';
import { type AutoJoin, proofInvalid, spendChallenge, type Verifier, VerifyingGate } from './bot-gate.js';
import { autoJoinOf, type ProofFault, type ProofOfWork } from './proof-of-work.js';

const MESSAGES: Record<ProofFault | 'spent', string> = {
  malformed: 'this is not a challenge this server issued',
  expired: 'the challenge expired: solve the new one',
  forged: 'the challenge was not issued to this session',
  'too-easy': 'the challenge is easier than this server asks now: solve the new one',
  wrong: 'the nonce does not solve the challenge',
  spent: 'this challenge was answered before: solve the new one',
};

/** Hashcash: `proof { challenge, nonce }`, checked without the store, then spent once in it. */
export class ProofOfWorkVerifier implements Verifier {
  readonly #store: PairingStore;
  readonly #work: ProofOfWork;

  constructor(store: PairingStore, work: ProofOfWork) {
    this.#store = store;
    this.#work = work;
  }

  challenge(session: SessionId, options: AutoJoin): string {
    return this.#work.issue(session, options);
  }

  async verify(session: SessionId, payload: unknown): Promise<AutoJoin> {
    const parsed = proofPayloadSchema().safeParse(payload);
    if (!parsed.success || !('nonce' in parsed.data)) {
      const why = parsed.success ? 'a nonce is missing' : (parsed.error.issues[0]?.message ?? 'invalid');
      throw new ProtocolError(ErrorCode.INVALID_PAYLOAD, `proof takes { challenge, nonce }: ${why}`);
    }
    const now = Date.now();
    const checked = this.#work.check(session, parsed.data.challenge, parsed.data.nonce, now);
    if ('fault' in checked) throw proofInvalid(this, session, MESSAGES[checked.fault], checked);
    const { challenge } = checked;
    if (!(await spendChallenge(this.#store, challenge.id, challenge.expiresAt, now))) {
      throw proofInvalid(this, session, MESSAGES.spent, { join: false });
    }
    return autoJoinOf(challenge);
  }
}

/** The proof-of-work gate: HMAC-signed hashcash challenges, each spent once (store `mark`). */
export class ProofOfWorkGate extends VerifyingGate {
  constructor(options: { store: PairingStore; work: ProofOfWork; verifiedTtlMs: number }) {
    super({
      store: options.store,
      verifier: new ProofOfWorkVerifier(options.store, options.work),
      verifiedTtlMs: options.verifiedTtlMs,
    });
  }
}
