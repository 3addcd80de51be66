import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { PairingStore } from '../store/pairing-store.js';
import { type BotGate, VerifyingGate } from './bot-gate.js';
import { ProofOfWork } from './proof-of-work.js';
import { ProofOfWorkGate } from './proof-of-work-verifier.js';
import { SiteVerifyVerifier } from './site-verify.js';

type BotGateConfig = Pick<
  Config,
  | 'botGate'
  | 'powDifficulty'
  | 'powChallengeTtlMs'
  | 'botGateVerifiedTtlMs'
  | 'botGateSecret'
  | 'siteverifyUrl'
  | 'siteverifySecret'
>;

/** The bot gate BOT_GATE asks for, over `store`; undefined when it is off. */
export function botGateFrom(config: BotGateConfig, store: PairingStore): BotGate | undefined {
  if (config.botGate === 'off') return undefined;
  // Without a shared secret (one process, memory store: loadConfig insists on one with Redis)
  // a random one does: nobody else needs to check these challenges.
  const secret = config.botGateSecret ?? randomBytes(32);
  const verifiedTtlMs = config.botGateVerifiedTtlMs;
  if (config.botGate === 'siteverify') {
    const { siteverifyUrl: url, siteverifySecret } = config;
    if (url === undefined || siteverifySecret === undefined)
      throw new Error('siteverify needs SITEVERIFY_URL and SITEVERIFY_SECRET');
    const verifier = new SiteVerifyVerifier({
      store,
      url,
      secret: siteverifySecret,
      signingSecret: secret,
      ttlMs: config.powChallengeTtlMs,
    });
    return new VerifyingGate({ store, verifier, verifiedTtlMs });
  }
  const work = new ProofOfWork({ secret, difficulty: config.powDifficulty, ttlMs: config.powChallengeTtlMs });
  return new ProofOfWorkGate({ store, work, verifiedTtlMs });
}
