import { ErrorCode } from '../../protocol/errors.js';
import type { Ack, ProofPayload } from '../../protocol/messages.js';
import type { SolveProof } from './solve-proof.js';

/** What starts a human-verification challenge (src/botgate/site-verify.ts; the client cannot import the server's module). */
const SITE_VERIFY_PREFIX = 'siteverify.';

/** A wrong or stale proof gets a fresh challenge: how many of those in a row before giving up. */
const MAX_ATTEMPTS = 3;

/**
 * Answers the bot gate's challenges for a signaling client (docs/protocol.md, "Bot gate"): solves
 * one (off the caller's thread, `solveProof`), sends `proof`, and solves the fresh challenge a
 * refusal brings. One proof at a time: a challenge that comes while one is being answered waits
 * for it, and is not answered at all when that one is accepted.
 */
export class Prover {
  readonly #solve: SolveProof | false;
  readonly #send: (proof: ProofPayload) => Promise<Ack>;
  #answering: Promise<boolean> | undefined;

  constructor(solve: SolveProof | false, send: (proof: ProofPayload) => Promise<Ack>) {
    this.#solve = solve;
    this.#send = send;
  }

  /** Answers `challenge`; resolves true once the server accepted a proof, false when it could not be proved. */
  async answer(challenge: string): Promise<boolean> {
    if (this.#answering && (await this.#answering)) return true;
    this.#answering = this.#answer(challenge).finally(() => {
      this.#answering = undefined;
    });
    return this.#answering;
  }

  /**
   * Runs `command`; when the server says it needs a proof first (PROOF_REQUIRED, with a
   * challenge), answers that and runs `command` once more.
   */
  gated<T extends object>(command: () => Promise<Ack<T>>): Promise<Ack<T>> {
    return command().then((ack) => {
      if (ack.ok || ack.error.code !== ErrorCode.PROOF_REQUIRED || ack.error.challenge === undefined) return ack;
      return this.answer(ack.error.challenge).then((proved) => (proved ? command() : ack));
    });
  }

  /** A failure to solve or to send (a closed client, a timeout) is a proof not made: the gate's refusal stands. */
  async #answer(first: string): Promise<boolean> {
    const solve = this.#solve;
    if (solve === false) return false;
    let challenge = first;
    try {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const answer = await solve(challenge);
        // A human-verification challenge is answered with the widget's token, a proof-of-work one with a nonce.
        const ack = await this.#send(
          challenge.startsWith(SITE_VERIFY_PREFIX) ? { challenge, token: answer } : { challenge, nonce: answer },
        );
        if (ack.ok) return true;
        if (ack.error.code !== ErrorCode.PROOF_INVALID || ack.error.challenge === undefined) return false;
        challenge = ack.error.challenge;
      }
    } catch {
      return false;
    }
    return false;
  }
}
