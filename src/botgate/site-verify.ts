import { ErrorCode, ProtocolError, StoreUnavailableError } from '../protocol/errors.js';
import { proofPayloadSchema } from '../protocol/schemas.js';
import type { PairingStore, SessionId } from '../store/pairing-store.js';
import { type AutoJoin, proofInvalid, spendChallenge, type Verifier } from './bot-gate.js';
import { autoJoinOf, ProofOfWork } from './proof-of-work.js';

/** What starts every challenge of this verifier: how a client tells it from a proof-of-work one. */
export const SITE_VERIFY_PREFIX = 'siteverify.';

export interface SiteVerifyOptions {
  store: PairingStore;
  /** The service's verification endpoint (Cloudflare Turnstile: https://challenges.cloudflare.com/turnstile/v0/siteverify; hCaptcha: https://api.hcaptcha.com/siteverify). */
  url: string;
  /** The site's secret with that service; never sent to a client. */
  secret: string;
  /** Signs the challenges (BOT_GATE_SECRET), which bind the answer to its session. */
  signingSecret: string | Buffer;
  /** How long a challenge may be answered (POW_CHALLENGE_TTL_MS). */
  ttlMs: number;
  /** How long to wait for the service. Default 5 s. */
  timeoutMs?: number;
}

/**
 * An external human-verification service (Turnstile, hCaptcha and the like): the page shows the
 * service's widget, which gives it a token; the client answers the challenge with
 * `proof { challenge, token }`, and the token is checked by `POST url` with the form fields
 * `secret` and `response`, whose JSON answer says `{ "success": true }` or not. The challenge is
 * signed like a proof-of-work one (difficulty 0): it binds the answer to its session, carries the
 * waiting automatic join, and is spent once.
 */
export class SiteVerifyVerifier implements Verifier {
  readonly #store: PairingStore;
  readonly #url: string;
  readonly #secret: string;
  readonly #timeoutMs: number;
  readonly #signed: ProofOfWork;

  constructor(options: SiteVerifyOptions) {
    this.#store = options.store;
    this.#url = options.url;
    this.#secret = options.secret;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#signed = new ProofOfWork({ secret: options.signingSecret, difficulty: 0, ttlMs: options.ttlMs });
  }

  challenge(session: SessionId, options: AutoJoin): string {
    return SITE_VERIFY_PREFIX + this.#signed.issue(session, options);
  }

  async verify(session: SessionId, payload: unknown): Promise<AutoJoin> {
    const parsed = proofPayloadSchema().safeParse(payload);
    if (!parsed.success || !('token' in parsed.data)) {
      const why = parsed.success ? 'a token is missing' : (parsed.error.issues[0]?.message ?? 'invalid');
      throw new ProtocolError(ErrorCode.INVALID_PAYLOAD, `proof takes { challenge, token }: ${why}`);
    }
    const { challenge: answered, token } = parsed.data;
    const now = Date.now();
    // Difficulty 0: any nonce "solves" it; what is checked is the signature, the session and the expiry.
    const checked = answered.startsWith(SITE_VERIFY_PREFIX)
      ? this.#signed.check(session, answered.slice(SITE_VERIFY_PREFIX.length), '', now)
      : ({ fault: 'malformed', join: false } as const);
    if ('fault' in checked) throw proofInvalid(this, session, `the challenge is ${checked.fault}`, checked);
    const { challenge } = checked;
    if (!(await this.#passes(token))) {
      throw proofInvalid(this, session, 'the verification service did not accept the token', autoJoinOf(challenge));
    }
    if (!(await spendChallenge(this.#store, challenge.id, challenge.expiresAt, now))) {
      throw proofInvalid(this, session, 'this challenge was answered before', { join: false });
    }
    return autoJoinOf(challenge);
  }

  /** Asks the service; its silence or failure is UNAVAILABLE (retry later), never a pass. */
  async #passes(token: string): Promise<boolean> {
    let answer: unknown;
    try {
      const response = await fetch(this.#url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ secret: this.#secret, response: token }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      answer = await response.json();
    } catch (error) {
      throw new StoreUnavailableError('the human-verification service did not answer', { cause: error });
    }
    return (answer as { success?: unknown } | null)?.success === true;
  }
}
