import { describe, expect, it } from 'vitest';
import { solveChallenge } from '../../test/helpers/proof.js';
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import { MemoryPairingStore } from '../store/memory-store.js';
import { leadingZeroBits, ProofOfWork } from './proof-of-work.js';
import { ProofOfWorkGate } from './proof-of-work-verifier.js';

const TTL_MS = 60_000;

function gate(difficulty = 8, secret = 'test secret') {
  const store = new MemoryPairingStore();
  const work = new ProofOfWork({ secret, difficulty, ttlMs: TTL_MS });
  return { store, work, gate: new ProofOfWorkGate({ store, work, verifiedTtlMs: TTL_MS }) };
}

/** What `prove` threw: a ProtocolError's code and whether it brought a fresh challenge. */
async function refusal(proving: Promise<unknown>) {
  const error = await proving.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ProtocolError);
  const { code, challenge } = error as ProtocolError;
  return { code, fresh: typeof challenge === 'string' };
}

describe('proof-of-work challenges', () => {
  it('counts leading zero bits', () => {
    expect(leadingZeroBits(Uint8Array.of(0, 0, 0x80))).toBe(16);
    expect(leadingZeroBits(Uint8Array.of(0x01))).toBe(7);
    expect(leadingZeroBits(Uint8Array.of(0, 0x0f))).toBe(12);
    expect(leadingZeroBits(Uint8Array.of(0, 0))).toBe(16);
  });

  it('names its difficulty first and nothing of the session', () => {
    const { work } = gate(12);
    const challenge = work.issue('session-secret', { join: true });
    expect(challenge.split('.')[0]).toBe('12');
    expect(challenge).not.toContain('session-secret');
  });
});

describe('the proof-of-work gate', () => {
  it('verifies a session that solved its challenge, once', async () => {
    const { gate: bot } = gate();
    const challenge = bot.challenge('s1', { join: true });
    expect(await bot.isVerified('s1')).toBe(false);
    expect(await bot.prove('s1', { challenge, nonce: solveChallenge(challenge) })).toEqual({ join: true });
    expect(await bot.isVerified('s1')).toBe(true);
    expect(await bot.isVerified('s2')).toBe(false);
  });

  it('refuses a replayed proof', async () => {
    const { gate: bot } = gate();
    const challenge = bot.challenge('s1', { join: false });
    const proof = { challenge, nonce: solveChallenge(challenge) };
    await bot.prove('s1', proof);
    expect(await refusal(bot.prove('s1', proof))).toEqual({ code: ErrorCode.PROOF_INVALID, fresh: true });
  });

  it("refuses another session's proof, and leaves that session unverified", async () => {
    const { gate: bot } = gate();
    const challenge = bot.challenge('s1', { join: false });
    const proof = { challenge, nonce: solveChallenge(challenge) };
    expect(await refusal(bot.prove('s2', proof))).toEqual({ code: ErrorCode.PROOF_INVALID, fresh: true });
    expect(await bot.isVerified('s2')).toBe(false);
    // Not spent by the refusal: its own session still proves with it.
    await bot.prove('s1', proof);
  });

  it('refuses an expired challenge', async () => {
    const { gate: bot, work } = gate();
    const challenge = work.issue('s1', { join: false, now: Date.now() - 2 * TTL_MS });
    expect(await refusal(bot.prove('s1', { challenge, nonce: solveChallenge(challenge) }))).toEqual({
      code: ErrorCode.PROOF_INVALID,
      fresh: true,
    });
    expect(await bot.isVerified('s1')).toBe(false);
  });

  it('refuses a nonce that does not solve it, and a challenge another secret signed', async () => {
    const { gate: bot } = gate(16);
    const challenge = bot.challenge('s1', { join: false });
    const nonce = solveChallenge(challenge);
    // The nonce just before the first that solves it does not.
    const wrong = nonce === '0' ? 'zzzz' : (Number.parseInt(nonce, 36) - 1).toString(36);
    expect((await refusal(bot.prove('s1', { challenge, nonce: wrong }))).code).toBe(ErrorCode.PROOF_INVALID);
    const other = new ProofOfWork({ secret: 'another secret', difficulty: 16, ttlMs: TTL_MS }).issue('s1', {
      join: false,
    });
    expect((await refusal(bot.prove('s1', { challenge: other, nonce: solveChallenge(other) }))).code).toBe(
      ErrorCode.PROOF_INVALID,
    );
    expect(await bot.isVerified('s1')).toBe(false);
  });

  it('refuses a challenge easier than the difficulty asked now', async () => {
    const easy = gate(4).work.issue('s1', { join: false });
    const { gate: bot } = gate(12);
    expect((await refusal(bot.prove('s1', { challenge: easy, nonce: solveChallenge(easy) }))).code).toBe(
      ErrorCode.PROOF_INVALID,
    );
  });

  it('refuses a malformed payload as INVALID_PAYLOAD', async () => {
    const { gate: bot } = gate();
    for (const payload of [undefined, {}, { challenge: 'x' }, { challenge: 'x', nonce: 'NOT BASE 36' }]) {
      expect((await refusal(bot.prove('s1', payload))).code).toBe(ErrorCode.INVALID_PAYLOAD);
    }
    expect((await refusal(bot.prove('s1', { challenge: 'x', nonce: '1' }))).code).toBe(ErrorCode.PROOF_INVALID);
  });

  it('keeps the automatic join waiting, with its preferences, in the challenge that replaces a stale one', async () => {
    const { gate: bot, work } = gate();
    const preferences = { interests: ['jazz'], lang: null };
    const stale = work.issue('s1', { join: true, preferences, now: Date.now() - 2 * TTL_MS });
    const error = await bot.prove('s1', { challenge: stale, nonce: solveChallenge(stale) }).catch((e: unknown) => e);
    const fresh = (error as ProtocolError).challenge as string;
    expect(await bot.prove('s1', { challenge: fresh, nonce: solveChallenge(fresh) })).toEqual({
      join: true,
      preferences,
    });
  });

  it("carries the automatic join's preferences signed: changed, the challenge is refused as forged", async () => {
    const { gate: bot, work } = gate();
    const preferences = { interests: ['jazz', 'ジャズ'], fallbackMs: null, lang: 'ja' };
    const challenge = bot.challenge('s1', { join: true, preferences });
    expect(await bot.prove('s1', { challenge, nonce: solveChallenge(challenge) })).toEqual({ join: true, preferences });

    const fields = work.issue('s2', { join: true, preferences }).split('.');
    fields[4] = Buffer.from(JSON.stringify({ interests: ['chess'] })).toString('base64url');
    const forged = fields.join('.');
    expect(await refusal(bot.prove('s2', { challenge: forged, nonce: solveChallenge(forged) }))).toEqual({
      code: ErrorCode.PROOF_INVALID,
      fresh: true,
    });
    // Longer than any a join accepts: left out, and the challenge stays within the documented length.
    const huge = work.issue('s3', { join: true, preferences: { interests: ['x'.repeat(5000)] } });
    expect(huge.split('.')).toHaveLength(5);
  });
});
