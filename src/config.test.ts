import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, SETTINGS } from './config.js';

describe('config', () => {
  it('has a default for everything that needs one', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.autoJoin).toBe(true);
    expect(config.maxSdpBytes).toBe(65536);
    expect(config.iceServers).toEqual([{ urls: 'stun:stun.l.google.com:19302' }]);
  });

  it('reads and converts the environment', () => {
    const config = loadConfig({
      PORT: '8080',
      AUTO_JOIN: 'false',
      ICE_SERVERS: '[{"urls":["turn:t.example.org:3478"],"username":"u","credential":"c"}]',
    });
    expect(config).toMatchObject({ port: 8080, autoJoin: false });
    expect(config.iceServers).toEqual([{ urls: ['turn:t.example.org:3478'], username: 'u', credential: 'c' }]);
  });

  it.each([
    ['PORT', 'eighty', /PORT: "eighty" is not an integer/],
    ['PORT', '70000', /PORT: 70000 is outside/],
    ['AUTO_JOIN', 'maybe', /AUTO_JOIN: "maybe" is not a boolean/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL: "loud" is not one of/],
    ['ICE_SERVERS', '{nope', /ICE_SERVERS: is not valid JSON/],
    ['ICE_SERVERS', '[{"url":"stun:x"}]', /ICE_SERVERS: entry 0 needs "urls"/],
    ['MAX_SDP_BYTES', '10', /MAX_SDP_BYTES: 10 is outside/],
    ['TURN_URLS', 'http://turn.example.org', /TURN_URLS: "http:\/\/turn.example.org" is not a turn: or turns: URL/],
    ['TURN_URLS', 'turn:ok.example.org,stun:x', /TURN_URLS: "stun:x" is not a turn: or turns: URL/],
    ['CORS_ORIGINS', 'example.com', /CORS_ORIGINS: "example.com" can never match .*write it as https:\/\/example.com$/],
    ['CORS_ORIGINS', 'https://chat.example/', /CORS_ORIGINS: .*write it as https:\/\/chat.example$/],
    ['CORS_ORIGINS', 'https://Chat.Example:443', /CORS_ORIGINS: .*write it as https:\/\/chat.example$/],
    ['CORS_ORIGINS', 'localhost:3000', /CORS_ORIGINS: "localhost:3000" can never match/],
    ['CORS_ORIGINS', 'https://[::1', /CORS_ORIGINS: "https:\/\/\[::1" can never match/],
    ['CLIENT_IP_HEADER', 'X-Forwarded-For', /CLIENT_IP_HEADER: X-Forwarded-For is a list .* use TRUST_PROXY/],
    ['CLIENT_IP_HEADER', 'Fly Client IP', /CLIENT_IP_HEADER: "Fly Client IP" is not an HTTP header name/],
    ['ADMIN_TOKEN', 'x'.repeat(23), /ADMIN_TOKEN: ADMIN_TOKEN must be at least 24 characters long/],
    ['REPORT_WEBHOOK_URL', 'ftp://example.org', /REPORT_WEBHOOK_URL: "ftp:\/\/example.org" is not an http\(s\) URL/],
    ['REPORT_WEBHOOK_URL', 'https://example.org/hook', /REPORT_WEBHOOK_URL: .*set both or neither/],
    ['REPORT_WEBHOOK_SECRET', 'a-secret-of-some-length', /REPORT_WEBHOOK_SECRET: .*set both or neither/],
    ['SUBJECT_SALT', 'short-salt', /SUBJECT_SALT: SUBJECT_SALT must be at least 16 characters long/],
  ])('refuses %s=%s with a message naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it('accepts origins as browsers send them, turn:/turns: URLs, and a header name in any case', () => {
    const config = loadConfig({
      CORS_ORIGINS: 'https://chat.example, http://localhost:3000,capacitor://localhost, *',
      TURN_URLS: 'turn:turn.example.org:3478?transport=tcp, TURNS:turn.example.org:5349',
      TURN_SECRET: 's3cret',
      CLIENT_IP_HEADER: 'Fly-Client-IP',
    });
    expect(config.corsOrigins).toEqual(['https://chat.example', 'http://localhost:3000', 'capacitor://localhost', '*']);
    expect(config.turnUrls).toEqual(['turn:turn.example.org:3478?transport=tcp', 'TURNS:turn.example.org:5349']);
    expect(config.clientIpHeader).toBe('fly-client-ip');
  });

  it('refuses TURN_URLS without TURN_SECRET, and the reverse: either alone would hand out nothing', () => {
    expect(() => loadConfig({ TURN_URLS: 'turn:turn.example.org' })).toThrow(
      /^TURN_URLS: is set but TURN_SECRET is not/,
    );
    expect(() => loadConfig({ TURN_SECRET: 's3cret' })).toThrow(/^TURN_SECRET: is set but TURN_URLS is empty/);
  });

  it('refuses BOT_GATE=pow with Redis but no BOT_GATE_SECRET: other instances could not check its challenges', () => {
    const redis = { BOT_GATE: 'pow', REDIS_URL: 'redis://127.0.0.1:6379' };
    expect(() => loadConfig(redis)).toThrow(/^BOT_GATE_SECRET: must be set/);
    expect(loadConfig({ ...redis, BOT_GATE_SECRET: 'shared' })).toMatchObject({
      botGate: 'pow',
      botGateSecret: 'shared',
    });
    expect(loadConfig({ BOT_GATE: 'pow' })).toMatchObject({ botGate: 'pow', powDifficulty: 16 });
    expect(loadConfig({})).toMatchObject({ botGate: 'off' });
    expect(() => loadConfig({ BOT_GATE: 'captcha' })).toThrow(/^BOT_GATE:/);
    expect(() => loadConfig({ BOT_GATE: 'siteverify' })).toThrow(/^BOT_GATE: siteverify needs SITEVERIFY_URL/);
    expect(
      loadConfig({
        BOT_GATE: 'siteverify',
        SITEVERIFY_URL: 'https://verify.example/siteverify',
        SITEVERIFY_SECRET: 's',
      }),
    ).toMatchObject({ botGate: 'siteverify' });
  });

  it('refuses a frame limit that leaves no room for the largest SDP', () => {
    expect(() => loadConfig({ MAX_SDP_BYTES: '65536', MAX_FRAME_BYTES: '65536' })).toThrow(/MAX_FRAME_BYTES/);
  });

  it('refuses a send buffer smaller than one frame', () => {
    expect(() => loadConfig({ MAX_FRAME_BYTES: '262144', MAX_SEND_BUFFER_BYTES: '131072' })).toThrow(
      /MAX_SEND_BUFFER_BYTES: 131072 must be at least MAX_FRAME_BYTES/,
    );
  });

  it('is documented: every variable appears in .env.example and the README', () => {
    const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const { env, fallback } of Object.values(SETTINGS)) {
      expect(example, `.env.example lacks ${env}`).toMatch(new RegExp(`^#? ?${env}=`, 'm'));
      expect(readme, `README lacks ${env}`).toContain(`\`${env}\``);
      if (fallback !== undefined) expect(example).toContain(`${env}=${fallback}`);
    }
  });
});
