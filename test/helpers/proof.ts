import { SOLVER_SOURCE } from '../../src/client/proof/solver-source.js';

/** The SDK's own solver, run synchronously here: a test makes its proofs by hand with it. */
const solver = new Function(`${SOLVER_SOURCE}; return { solve };`)() as { solve(challenge: string): string };

/** A nonce that answers `challenge` (docs/protocol.md, "Bot gate"). */
export function solveChallenge(challenge: string): string {
  return solver.solve(challenge);
}
