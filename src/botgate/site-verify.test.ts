/**
 * The human-verification verifier against a local stand-in for Turnstile/hCaptcha's siteverify
 * (a real HTTP server on 127.0.0.1 that checks the secret and the token, as those services do).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, ProtocolError, StoreUnavailableError } from '../protocol/errors.js';
import { MemoryPairingStore } from '../store/memory-store.js';
import { VerifyingGate } from './bot-gate.js';
import { SITE_VERIFY_PREFIX, SiteVerifyVerifier } from './site-verify.js';

const SITE_SECRET = 'site-secret';
const GOOD_TOKEN = 'token-of-a-person';

let service: Server;
let url: string;
/** What the stand-in was asked, form fields as it read them. */
const asked: Record<string, string>[] = [];

beforeAll(async () => {
  service = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(body));
      asked.push(form);
      const success = request.method === 'POST' && form.secret === SITE_SECRET && form.response === GOOD_TOKEN;
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(success ? { success } : { success, 'error-codes': ['invalid-input-response'] }));
    });
  });
  await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(service.address() as AddressInfo).port}/siteverify`;
});

afterAll(async () => {
  await new Promise((resolve) => service.close(resolve));
});

function gate(serviceUrl = url) {
  const store = new MemoryPairingStore();
  const verifier = new SiteVerifyVerifier({
    store,
    url: serviceUrl,
    secret: SITE_SECRET,
    signingSecret: 'signing secret',
    ttlMs: 60_000,
  });
  return new VerifyingGate({ store, verifier, verifiedTtlMs: 60_000 });
}

async function codeOf(proving: Promise<unknown>): Promise<string | undefined> {
  const error = await proving.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  return error instanceof ProtocolError ? error.code : error instanceof StoreUnavailableError ? 'UNAVAILABLE' : 'none';
}

describe('human-verification verifier (siteverify)', () => {
  it('verifies a session whose token the service accepts, sending it the site secret and the token', async () => {
    const bot = gate();
    const challenge = bot.challenge('s1', { join: true });
    expect(challenge.startsWith(SITE_VERIFY_PREFIX)).toBe(true);
    expect(await bot.prove('s1', { challenge, token: GOOD_TOKEN })).toEqual({ join: true });
    expect(await bot.isVerified('s1')).toBe(true);
    expect(asked.at(-1)).toEqual({ secret: SITE_SECRET, response: GOOD_TOKEN });
  });

  it('refuses a token the service rejects, and leaves the session unverified', async () => {
    const bot = gate();
    const challenge = bot.challenge('s1', { join: false });
    expect(await codeOf(bot.prove('s1', { challenge, token: 'a script' }))).toBe(ErrorCode.PROOF_INVALID);
    expect(await bot.isVerified('s1')).toBe(false);
  });

  it('refuses a replayed answer and an answer to another session’s challenge', async () => {
    const bot = gate();
    const challenge = bot.challenge('s1', { join: false });
    expect(await codeOf(bot.prove('s2', { challenge, token: GOOD_TOKEN }))).toBe(ErrorCode.PROOF_INVALID);
    await bot.prove('s1', { challenge, token: GOOD_TOKEN });
    expect(await codeOf(bot.prove('s1', { challenge, token: GOOD_TOKEN }))).toBe(ErrorCode.PROOF_INVALID);
  });

  it('refuses a nonce where a token is due as INVALID_PAYLOAD', async () => {
    const bot = gate();
    const challenge = bot.challenge('s1', { join: false });
    expect(await codeOf(bot.prove('s1', { challenge, nonce: '1' }))).toBe(ErrorCode.INVALID_PAYLOAD);
  });

  it('a service that does not answer is UNAVAILABLE, never a pass', async () => {
    const bot = gate('http://127.0.0.1:9/siteverify');
    const challenge = bot.challenge('s1', { join: false });
    expect(await codeOf(bot.prove('s1', { challenge, token: GOOD_TOKEN }))).toBe('UNAVAILABLE');
    expect(await bot.isVerified('s1')).toBe(false);
  });
});
