import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { iceServersFor, turnCredential } from './turn-credentials.js';

describe('TURN REST credentials', () => {
  it('match what openssl computes for the coturn use-auth-secret scheme', () => {
    const { username, credential } = turnCredential('north-wind', 3600, 'user42', 1_700_000_000_000);
    expect(username).toBe('1700003600:user42');
    const expected = execFileSync('sh', [
      '-c',
      `printf %s '${username}' | openssl dgst -sha1 -hmac north-wind -binary | base64`,
    ])
      .toString()
      .trim();
    expect(credential).toBe(expected);
  });

  it('are added to the static servers only when a secret is set, and never contain the secret or the user', () => {
    const stun = [{ urls: 'stun:stun.example.org' }];
    const turn = { urls: ['turn:turn.example.org:3478'], secret: 's3cret-value', ttlSeconds: 600 };
    expect(iceServersFor(stun, { ...turn, secret: undefined }, 'session-a')).toEqual(stun);
    const servers = iceServersFor(stun, turn, 'session-a');
    expect(servers).toHaveLength(2);
    expect(servers[1]).toMatchObject({ urls: turn.urls, username: expect.stringMatching(/^\d+:[\w-]{16}$/) });
    const text = JSON.stringify(servers);
    expect(text).not.toContain('s3cret-value');
    expect(text).not.toContain('session-a');
    const expiry = Number(servers[1]?.username?.split(':')[0]);
    expect(expiry - Math.floor(Date.now() / 1000)).toBeGreaterThan(590);
  });
});
