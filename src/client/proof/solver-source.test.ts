import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { leadingZeroBits } from '../../botgate/proof-of-work.js';
import { solveProof } from './solve-proof.js';
import { SOLVER_SOURCE } from './solver-source.js';

/** The worker's own functions, run here to hold them to node:crypto. */
const solver = new Function(`${SOLVER_SOURCE}; return { sha256Hex, solve };`)() as {
  sha256Hex(text: string): string;
  solve(challenge: string): string;
};

describe('the proof-of-work solver the SDK runs in a worker', () => {
  it('hashes like node:crypto at every length around the block boundaries', () => {
    for (let length = 0; length <= 200; length++) {
      const text = Array.from({ length }, (_, i) => String.fromCharCode(33 + ((i * 7 + length) % 94))).join('');
      expect(solver.sha256Hex(text), `length ${length}`).toBe(createHash('sha256').update(text).digest('hex'));
    }
  });

  it('finds a nonce with the number of leading zero bits the challenge asks', () => {
    const challenge = '12.1700000000000.0.abcdefghijklmnop.0123456789012345678901234567890123456789012';
    const nonce = solver.solve(challenge);
    expect(nonce).toMatch(/^[0-9a-z]+$/);
    expect(
      leadingZeroBits(
        createHash('sha256')
          .update(challenge + nonce)
          .digest(),
      ),
    ).toBeGreaterThanOrEqual(12);
  });

  it('solves in a Node worker thread (the default outside a browser)', async () => {
    const challenge = '10.1700000000000.1.ponmlkjihgfedcba.0123456789012345678901234567890123456789012';
    const nonce = await solveProof(challenge);
    expect(nonce).toBe(solver.solve(challenge));
    expect(
      leadingZeroBits(
        createHash('sha256')
          .update(challenge + nonce)
          .digest(),
      ),
    ).toBeGreaterThanOrEqual(10);
  });

  it('rejects what is not a challenge, from the worker', async () => {
    await expect(solveProof('not a challenge')).rejects.toThrow(/not a proof-of-work challenge/);
  });
});
