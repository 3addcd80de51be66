/**
 * The bot gate's own costs, in this process (no network): the server's CPU to issue a challenge,
 * to check a proof (HMAC + SHA-256), and to accept one through the gate (the payload's schema, the
 * check, and two store marks on the memory store); and a client's solve at the default difficulty
 * with the SDK's solver (what a person's browser or a bot pays per session).
 */
import { cpuUsage } from 'node:process';
import { ProofOfWork } from '../src/botgate/proof-of-work.js';
import { ProofOfWorkGate } from '../src/botgate/proof-of-work-verifier.js';
import { SOLVER_SOURCE } from '../src/client/proof/solver-source.js';
import { SETTINGS } from '../src/config.js';
import { MemoryPairingStore } from '../src/store/memory-store.js';

export interface BotGateFigures {
  /** CPU µs per challenge issued (one HMAC). */
  issueMicros: number;
  /** CPU µs per proof checked, without the store (HMAC + SHA-256). */
  checkMicros: number;
  /** CPU µs per proof accepted through the gate on the memory store (schema, check, two marks). */
  proveMicros: number;
  /** The difficulty a client solved at (POW_DIFFICULTY's default). */
  difficulty: number;
  /** Solves measured. */
  solves: number;
  /** Mean and worst wall time of one solve on one thread (ms), and the solver's hash rate. */
  solveMeanMs: number;
  solveMaxMs: number;
  hashesPerSecond: number;
}

const CHECKS = 20_000;
const SOLVES = 30;

const solver = new Function(`${SOLVER_SOURCE}; return { solve };`)() as { solve(challenge: string): string };

/** CPU microseconds `task` takes per call, over `n` calls (user + system). */
function cpuMicrosPer(n: number, task: (i: number) => void): number {
  const before = cpuUsage();
  for (let i = 0; i < n; i++) task(i);
  const used = cpuUsage(before);
  return (used.user + used.system) / n;
}

export async function measureBotGate(): Promise<BotGateFigures> {
  const difficulty = Number(SETTINGS.powDifficulty.fallback);
  // Easy proofs to check: what is measured is the server's side, whatever the difficulty.
  const work = new ProofOfWork({ secret: 'bench', difficulty: 4, ttlMs: 60_000 });
  const proofs = Array.from({ length: CHECKS }, (_, i) => {
    const challenge = work.issue(`session-${i}`, { join: true });
    return { session: `session-${i}`, challenge, nonce: solver.solve(challenge) };
  });
  const issueMicros = cpuMicrosPer(CHECKS, (i) => work.issue(`session-${i}`, { join: true }));
  const checkMicros = cpuMicrosPer(CHECKS, (i) => {
    const proof = proofs[i] as (typeof proofs)[number];
    if ('fault' in work.check(proof.session, proof.challenge, proof.nonce)) throw new Error('bench proof refused');
  });

  const gate = new ProofOfWorkGate({ store: new MemoryPairingStore(), work, verifiedTtlMs: 60_000 });
  const before = cpuUsage();
  for (const { session, challenge, nonce } of proofs) await gate.prove(session, { challenge, nonce });
  const used = cpuUsage(before);
  const proveMicros = (used.user + used.system) / CHECKS;

  const times: number[] = [];
  let hashes = 0;
  const solving = new ProofOfWork({ secret: 'bench', difficulty, ttlMs: 60_000 });
  for (let i = 0; i < SOLVES; i++) {
    const challenge = solving.issue(`solver-${i}`, { join: true });
    const started = performance.now();
    const nonce = solver.solve(challenge);
    times.push(performance.now() - started);
    hashes += Number.parseInt(nonce, 36) + 1;
  }
  const total = times.reduce((sum, t) => sum + t, 0);
  return {
    issueMicros,
    checkMicros,
    proveMicros,
    difficulty,
    solves: SOLVES,
    solveMeanMs: total / SOLVES,
    solveMaxMs: Math.max(...times),
    hashesPerSecond: hashes / (total / 1000),
  };
}
