import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { PairingStore } from '../store/pairing-store.js';
import { type BotGate, ProofOfWorkGate } from './bot-gate.js';
import { ProofOfWork } from './proof-of-work.js';

type BotGateConfig = Pick<
  Config,
  'botGate' | 'powDifficulty' | 'powChallengeTtlMs' | 'botGateVerifiedTtlMs' | 'botGateSecret'
>;

/** The bot gate BOT_GATE asks for, over `store`; undefined when it is off. */
export function botGateFrom(config: BotGateConfig, store: PairingStore): BotGate | undefined {
  if (config.botGate === 'off') return undefined;
  return new ProofOfWorkGate({
    store,
    // Without a shared secret (one process, memory store: loadConfig insists on one with Redis)
    // a random one does: nobody else needs to check these challenges.
    work: new ProofOfWork({
      secret: config.botGateSecret ?? randomBytes(32),
      difficulty: config.powDifficulty,
      ttlMs: config.powChallengeTtlMs,
    }),
    verifiedTtlMs: config.botGateVerifiedTtlMs,
  });
}
