/**
 * Every tunable, in one place: its environment variable, its default, what it does. `.env.example`
 * and the README's table list exactly these (test/config.test.ts checks it).
 */
import type { IceServer } from './protocol/messages.js';

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

interface Setting<T> {
  env: string;
  /** Raw default, as it would be written in the environment; undefined means "unset". */
  fallback: string | undefined;
  doc: string;
  parse: (raw: string, env: string) => T;
}

const integer =
  (min: number, max: number) =>
  (raw: string, env: string): number => {
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value))
      throw new ConfigError(env, `"${raw}" is not an integer`);
    if (value < min || value > max) throw new ConfigError(env, `${value} is outside ${min}..${max}`);
    return value;
  };

const boolean = (raw: string, env: string): boolean => {
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(env, `"${raw}" is not a boolean (true/false)`);
};

const text = (raw: string): string => raw;

const oneOf =
  <T extends string>(...values: T[]) =>
  (raw: string, env: string): T => {
    if ((values as string[]).includes(raw)) return raw as T;
    throw new ConfigError(env, `"${raw}" is not one of ${values.join(', ')}`);
  };

const iceServerList = (raw: string, env: string): IceServer[] => {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ConfigError(env, 'is not valid JSON (expected an array of RTCIceServer objects)');
  }
  if (!Array.isArray(value)) throw new ConfigError(env, 'must be a JSON array of RTCIceServer objects');
  return value.map((entry, index) => {
    const urls = (entry as { urls?: unknown })?.urls;
    const validUrls =
      typeof urls === 'string' || (Array.isArray(urls) && urls.length > 0 && urls.every((u) => typeof u === 'string'));
    if (!validUrls) throw new ConfigError(env, `entry ${index} needs "urls": a string or an array of strings`);
    const { username, credential } = entry as { username?: unknown; credential?: unknown };
    if (username !== undefined && typeof username !== 'string')
      throw new ConfigError(env, `entry ${index}: username must be a string`);
    if (credential !== undefined && typeof credential !== 'string')
      throw new ConfigError(env, `entry ${index}: credential must be a string`);
    return entry as IceServer;
  });
};

/** A comma-separated list; empty entries are dropped. */
const list = (raw: string): string[] =>
  raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);

const optionalText = (raw: string): string | undefined => raw;

/** An http(s) URL. */
const httpUrl = (raw: string, env: string): string | undefined => {
  const url = parsedUrl(raw);
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:')
    throw new ConfigError(env, `"${raw}" is not an http(s) URL`);
  return raw;
};

/** A secret of at least `min` characters: a short one can be guessed. */
const secret =
  (name: string, min: number) =>
  (raw: string, env: string): string | undefined => {
    if (raw.length < min) throw new ConfigError(env, `${name} must be at least ${min} characters long`);
    return raw;
  };

/** scheme://host[:port] and nothing more: what a browser sends in its Origin header. */
const ORIGIN_SHAPE = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+$/i;

/**
 * CORS_ORIGINS: `*` or origins exactly as browsers send them. An entry no Origin header can ever
 * equal (no scheme, a path, a trailing slash, upper case) would silently refuse every page.
 */
const originList = (raw: string, env: string): string[] =>
  list(raw).map((entry) => {
    if (entry === '*') return entry;
    const url = ORIGIN_SHAPE.test(entry) ? parsedUrl(entry) : undefined;
    // http(s) origins have one canonical spelling (lower-case host, no default port); other
    // schemes (capacitor://localhost, chrome-extension://…) are compared as written.
    const special = url?.protocol === 'http:' || url?.protocol === 'https:';
    if (url && (!special || url.origin === entry)) return entry;
    throw new ConfigError(env, `"${entry}" can never match a browser's Origin: write it as ${originHint(entry)}`);
  });

/** The spelling that would match: the URL's origin, else (a bare host name) the host over https. */
function originHint(entry: string): string {
  const origin = parsedUrl(entry)?.origin;
  return origin && origin !== 'null' ? origin : `https://${entry.replace(/\/+$/, '')}`;
}

function parsedUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** TURN_URLS: turn: and turns: URLs (RFC 7065) only; anything else is not a TURN server. */
const turnUrlList = (raw: string, env: string): string[] =>
  list(raw).map((entry) => {
    if (/^turns?:[^\s/]\S*$/i.test(entry)) return entry;
    throw new ConfigError(env, `"${entry}" is not a turn: or turns: URL (e.g. turn:turn.example.org:3478)`);
  });

/** An HTTP header name (RFC 9110 token), lower-cased as Node presents incoming headers. */
const headerName = (raw: string, env: string): string | undefined => {
  const name = raw.trim().toLowerCase();
  if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) throw new ConfigError(env, `"${raw}" is not an HTTP header name`);
  // These are lists every hop appends to, the client included: hop counting (TRUST_PROXY) is the safe reading.
  if (name === 'x-forwarded-for' || name === 'forwarded')
    throw new ConfigError(env, `${raw} is a list the client writes into; use TRUST_PROXY to count its trusted hops`);
  return name;
};

const redisUrl = (raw: string, env: string): string | undefined => {
  if (!/^rediss?:\/\/./.test(raw)) throw new ConfigError(env, 'must be a redis:// or rediss:// (TLS) URL');
  return raw;
};

export const SETTINGS = {
  port: { env: 'PORT', fallback: '3000', doc: 'TCP port for HTTP and socket.io.', parse: integer(0, 65535) },
  host: { env: 'HOST', fallback: '0.0.0.0', doc: 'Interface to listen on.', parse: text },
  logLevel: {
    env: 'LOG_LEVEL',
    fallback: 'info',
    doc: 'pino log level: fatal, error, warn, info, debug, trace or silent.',
    parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  },
  iceServers: {
    env: 'ICE_SERVERS',
    fallback: '[{"urls":"stun:stun.l.google.com:19302"}]',
    doc: 'JSON array of RTCIceServer objects sent to both peers in `paired`.',
    parse: iceServerList,
  },
  autoJoin: {
    env: 'AUTO_JOIN',
    fallback: 'true',
    doc: 'Queue a client as soon as it connects; when false it waits for `join`.',
    parse: boolean,
  },
  maxSdpBytes: {
    env: 'MAX_SDP_BYTES',
    fallback: '65536',
    doc: 'Largest SDP (offer or answer) relayed, in bytes; larger ones get PAYLOAD_TOO_LARGE.',
    parse: integer(1024, 1024 * 1024),
  },
  maxCandidateBytes: {
    env: 'MAX_CANDIDATE_BYTES',
    fallback: '2048',
    doc: 'Largest ICE candidate string relayed, in bytes; larger ones get PAYLOAD_TOO_LARGE.',
    parse: integer(256, 64 * 1024),
  },
  maxFrameBytes: {
    env: 'MAX_FRAME_BYTES',
    fallback: '262144',
    doc: 'Largest socket.io frame read at all; a bigger one closes that connection. Must exceed MAX_SDP_BYTES by 4 KiB.',
    parse: integer(8 * 1024, 16 * 1024 * 1024),
  },
  maxSendBufferBytes: {
    env: 'MAX_SEND_BUFFER_BYTES',
    fallback: '1048576',
    doc: 'Bytes waiting to be sent to one client (one that does not read) before it is disconnected. At least MAX_FRAME_BYTES.',
    parse: integer(64 * 1024, 1024 * 1024 * 1024),
  },
  maxInFlight: {
    env: 'MAX_IN_FLIGHT',
    fallback: '64',
    doc: 'Commands one client may have waiting for the store; beyond it they get RATE_LIMITED.',
    parse: integer(1, 10_000),
  },
  redisUrl: {
    env: 'REDIS_URL',
    fallback: undefined,
    doc: 'Redis (redis:// or rediss:// for TLS) shared by every instance; unset: embedded memory store, one instance.',
    parse: redisUrl,
  },
  redisPrefix: {
    env: 'REDIS_PREFIX',
    fallback: 'pairwire:',
    doc: 'Prefix of every Redis key and stream, so deployments can share one Redis.',
    parse: text,
  },
  outboxMaxEvents: {
    env: 'OUTBOX_MAX_EVENTS',
    fallback: '512',
    doc: 'Events kept per session until its client acknowledges them (for resume); a client that falls further behind loses its session.',
    parse: integer(16, 100_000),
  },
  outboxMaxBytes: {
    env: 'OUTBOX_MAX_BYTES',
    fallback: '1048576',
    doc: 'Bytes of signals kept per session until acknowledged (as sent, before JSON escaping); bounds memory per session whatever the rate. Must hold a burst: 2 × (SDP_PER_SECOND × MAX_SDP_BYTES + CANDIDATES_PER_SECOND × MAX_CANDIDATE_BYTES).',
    parse: integer(16 * 1024, 64 * 1024 * 1024),
  },
  resumeGraceMs: {
    env: 'RESUME_GRACE_MS',
    fallback: '10000',
    doc: 'How long a dropped (or crashed) client keeps its pair to resume before its partner is told.',
    parse: integer(1000, 600_000),
  },
  matchFallbackMs: {
    env: 'MATCH_FALLBACK_MS',
    fallback: '10000',
    doc: 'How long a client with interests waits for someone sharing one before anyone will do, unless it sends its own fallbackMs.',
    parse: integer(0, 3_600_000),
  },
  matchRecentPartners: {
    env: 'MATCH_RECENT_PARTNERS',
    fallback: '20',
    doc: "A client's last this many partners are never paired with it again (within MATCH_RECENT_MS).",
    parse: integer(0, 1000),
  },
  matchRecentMs: {
    env: 'MATCH_RECENT_MS',
    fallback: '600000',
    doc: 'How long a recent partner is kept from being paired with the same client again.',
    parse: integer(0, 86_400_000),
  },
  reportWindowMs: {
    env: 'REPORT_WINDOW_MS',
    fallback: '600000',
    doc: 'How long after a pair ended either side may still `report` it (NOT_IN_ROOM after that).',
    parse: integer(0, 86_400_000),
  },
  reportsMax: {
    env: 'REPORTS_MAX',
    fallback: '10000',
    doc: 'Reports kept for GET /admin/reports (the oldest go first; approximately, in a Redis stream).',
    parse: integer(1, 10_000_000),
  },
  reportRetentionMs: {
    env: 'REPORT_RETENTION_MS',
    fallback: '7776000000',
    doc: 'How long a report is kept at most (default 90 days); docs/security.md says what a report holds.',
    parse: integer(60_000, 366 * 86_400_000),
  },
  reportWebhookUrl: {
    env: 'REPORT_WEBHOOK_URL',
    fallback: undefined,
    doc: 'Each report is also POSTed here as JSON, signed (X-Pairwire-Signature: sha256=HMAC of the body with REPORT_WEBHOOK_SECRET) and retried with back-off. Needs REPORT_WEBHOOK_SECRET.',
    parse: httpUrl,
  },
  reportWebhookSecret: {
    env: 'REPORT_WEBHOOK_SECRET',
    fallback: undefined,
    doc: 'Key of the webhook signature, at least 16 characters. Needs REPORT_WEBHOOK_URL.',
    parse: secret('REPORT_WEBHOOK_SECRET', 16),
  },
  autoBanReporters: {
    env: 'AUTO_BAN_REPORTERS',
    fallback: '3',
    doc: 'A subject reported by this many distinct subjects within AUTO_BAN_REPORTERS_WINDOW_MS is banned for AUTO_BAN_MS; 0: never.',
    parse: integer(0, 1000),
  },
  autoBanReportersWindowMs: {
    env: 'AUTO_BAN_REPORTERS_WINDOW_MS',
    fallback: '86400000',
    doc: 'The window AUTO_BAN_REPORTERS counts distinct reporters in.',
    parse: integer(1000, 30 * 86_400_000),
  },
  autoBanSkipsPerMinute: {
    env: 'AUTO_BAN_SKIPS_PER_MINUTE',
    fallback: '60',
    doc: 'A subject sending more next/block than this in one minute (all its connections, every instance) is banned for AUTO_BAN_MS; 0: never.',
    parse: integer(0, 100_000),
  },
  autoBanMs: {
    env: 'AUTO_BAN_MS',
    fallback: '86400000',
    doc: 'How long an automatic ban lasts.',
    parse: integer(1000, 365 * 86_400_000),
  },
  subjectSalt: {
    env: 'SUBJECT_SALT',
    fallback: undefined,
    doc: 'Secret (at least 16 characters) that client addresses and device tokens are hashed with into subjects, what reports name and bans apply to; the same on every instance. Unset: a random one per process (bans then hold only on the instance and until its restart).',
    parse: secret('SUBJECT_SALT', 16),
  },
  statsEventMs: {
    env: 'STATS_EVENT_MS',
    fallback: '5000',
    doc: 'How often waiting clients get a `stats` event with the live counts (the same as GET /stats, asked once per interval per instance); 0 turns it off. socket.io only: Lambda clients poll GET /stats.',
    parse: integer(0, 3_600_000),
  },
  trustProxy: {
    env: 'TRUST_PROXY',
    fallback: '0',
    doc: 'Proxies in front of the server whose X-Forwarded-For entries are trusted; 0 uses the socket address.',
    parse: integer(0, 10),
  },
  clientIpHeader: {
    env: 'CLIENT_IP_HEADER',
    fallback: undefined,
    doc: 'Header the edge proxy sets to the client address (Fly-Client-IP on Fly.io); only behind a proxy that overwrites it. Unset: TRUST_PROXY decides.',
    parse: headerName,
  },
  corsOrigins: {
    env: 'CORS_ORIGINS',
    fallback: '',
    doc: "Comma-separated origins (scheme://host[:port]) whose pages may connect; empty: only the server's own page; * for any.",
    parse: originList,
  },
  sdpPerSecond: {
    env: 'SDP_PER_SECOND',
    fallback: '5',
    doc: 'Offers and answers one client may send per second (bursts of twice that).',
    parse: integer(1, 10_000),
  },
  candidatesPerSecond: {
    env: 'CANDIDATES_PER_SECOND',
    fallback: '40',
    doc: 'ICE candidates (and any other message) one client may send per second (bursts of twice that).',
    parse: integer(1, 100_000),
  },
  pairingPerSecond: {
    env: 'PAIRING_PER_SECOND',
    fallback: '2',
    doc: 'join, next and leave one client may send per second (bursts of twice that).',
    parse: integer(1, 1000),
  },
  abuseStrikes: {
    env: 'ABUSE_STRIKES',
    fallback: '50',
    doc: 'Rate-limited commands tolerated (refilling one per second) before the client is disconnected.',
    parse: integer(1, 100_000),
  },
  maxConnectionsPerIp: {
    env: 'MAX_CONNECTIONS_PER_IP',
    fallback: '50',
    doc: 'Connections one address may hold at once (shared across instances with Redis).',
    parse: integer(1, 1_000_000),
  },
  connectionsPerMinutePerIp: {
    env: 'CONNECTIONS_PER_MINUTE_PER_IP',
    fallback: '120',
    doc: 'New connections one address may open per minute (shared across instances with Redis).',
    parse: integer(1, 1_000_000),
  },
  turnUrls: {
    env: 'TURN_URLS',
    fallback: '',
    doc: 'Comma-separated turn:/turns: URLs handed out with time-limited credentials; needs TURN_SECRET.',
    parse: turnUrlList,
  },
  turnSecret: {
    env: 'TURN_SECRET',
    fallback: undefined,
    doc: "coturn's static-auth-secret (use-auth-secret); credentials are derived from it, it is never sent. Needs TURN_URLS.",
    parse: optionalText,
  },
  turnTtlSeconds: {
    env: 'TURN_TTL_SECONDS',
    fallback: '3600',
    doc: 'How long a TURN credential stays valid.',
    parse: integer(60, 7 * 24 * 3600),
  },
  metricsToken: {
    env: 'METRICS_TOKEN',
    fallback: undefined,
    doc: 'Enables GET /metrics (Prometheus) for requests with Authorization: Bearer <token>; unset: no /metrics.',
    parse: optionalText,
  },
  adminToken: {
    env: 'ADMIN_TOKEN',
    fallback: undefined,
    doc: 'Enables the operator API (/admin/*: reports, bans, live counts; docs/openapi.yaml) for requests with Authorization: Bearer <token>; at least 24 characters. Unset: no /admin routes.',
    parse: secret('ADMIN_TOKEN', 24),
  },
  websocketManagementEndpoint: {
    env: 'WEBSOCKET_MANAGEMENT_ENDPOINT',
    fallback: undefined,
    doc: 'Lambda only: API Gateway management endpoint for PostToConnection; unset: https://{domain}/{stage} of the event (http://127.0.0.1:3001 under serverless offline).',
    parse: optionalText,
  },
  botGate: {
    env: 'BOT_GATE',
    fallback: 'off',
    doc: 'pow: a client solves a proof-of-work challenge (docs/security.md, "Bot gate") before its first join; siteverify: it answers with a human-verification token (SITEVERIFY_URL); off: no gate.',
    parse: oneOf('off', 'pow', 'siteverify'),
  },
  powDifficulty: {
    env: 'POW_DIFFICULTY',
    fallback: '16',
    doc: 'Leading zero bits of SHA-256(challenge + nonce) a proof needs; each bit doubles the work (16: about 65 000 hashes, a fraction of a second in a browser).',
    parse: integer(1, 32),
  },
  powChallengeTtlMs: {
    env: 'POW_CHALLENGE_TTL_MS',
    fallback: '120000',
    doc: 'How long a proof-of-work challenge may be answered; a spent one is remembered (in the store) this long.',
    parse: integer(1000, 3_600_000),
  },
  botGateVerifiedTtlMs: {
    env: 'BOT_GATE_VERIFIED_TTL_MS',
    fallback: '86400000',
    doc: 'How long a session stays verified once it proved itself; then its next join asks for a new proof.',
    parse: integer(60_000, 30 * 86_400_000),
  },
  botGateSecret: {
    env: 'BOT_GATE_SECRET',
    fallback: undefined,
    doc: 'Signs the bot gate challenges so every instance can check them; required with REDIS_URL. Unset without Redis: a random secret per process.',
    parse: optionalText,
  },
  siteverifyUrl: {
    env: 'SITEVERIFY_URL',
    fallback: undefined,
    doc: 'With BOT_GATE=siteverify: the human-verification service endpoint (Turnstile, hCaptcha) a token is POSTed to with SITEVERIFY_SECRET.',
    parse: optionalText,
  },
  siteverifySecret: {
    env: 'SITEVERIFY_SECRET',
    fallback: undefined,
    doc: "With BOT_GATE=siteverify: the site's secret with that service; never sent to a client.",
    parse: optionalText,
  },
  shutdownTimeoutMs: {
    env: 'SHUTDOWN_TIMEOUT_MS',
    fallback: '10000',
    doc: 'On SIGTERM/SIGINT, how long to drain before connections are cut.',
    parse: integer(0, 600_000),
  },
} satisfies Record<string, Setting<unknown>>;

type Settings = typeof SETTINGS;
export type Config = { [K in keyof Settings]: ReturnType<Settings[K]['parse']> };

/** Reads and validates the whole configuration; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const config: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(SETTINGS) as [string, Setting<unknown>][]) {
    const raw = env[setting.env];
    const value = raw === undefined || raw === '' ? setting.fallback : raw;
    config[key] = value === undefined ? undefined : setting.parse(value, setting.env);
  }
  const result = config as Config;
  // Between the two limits a client gets a typed PAYLOAD_TOO_LARGE instead of a dropped connection.
  if (result.maxFrameBytes < result.maxSdpBytes + FRAME_ENVELOPE_BYTES) {
    throw new ConfigError(
      SETTINGS.maxFrameBytes.env,
      `${result.maxFrameBytes} must be at least MAX_SDP_BYTES + ${FRAME_ENVELOPE_BYTES} (${result.maxSdpBytes + FRAME_ENVELOPE_BYTES})`,
    );
  }
  checkTurnPair(result);
  // A webhook without its key could not be trusted by the receiver, and a key alone does nothing.
  if ((result.reportWebhookUrl === undefined) !== (result.reportWebhookSecret === undefined)) {
    throw new ConfigError(
      result.reportWebhookUrl === undefined ? SETTINGS.reportWebhookSecret.env : SETTINGS.reportWebhookUrl.env,
      'REPORT_WEBHOOK_URL and REPORT_WEBHOOK_SECRET go together: set both or neither',
    );
  }
  // Another instance (or Lambda container) could not check a challenge signed with a secret of this process's own.
  if (result.botGate !== 'off' && result.redisUrl !== undefined && result.botGateSecret === undefined) {
    throw new ConfigError(
      SETTINGS.botGateSecret.env,
      `must be set when BOT_GATE=${result.botGate} and REDIS_URL are: every instance signs and checks challenges with it`,
    );
  }
  if (
    result.botGate === 'siteverify' &&
    (result.siteverifyUrl === undefined || result.siteverifySecret === undefined)
  ) {
    throw new ConfigError(SETTINGS.botGate.env, 'siteverify needs SITEVERIFY_URL and SITEVERIFY_SECRET');
  }
  // A single relayed message must fit, or a client that reads would be dropped for one big offer.
  if (result.maxSendBufferBytes < result.maxFrameBytes) {
    throw new ConfigError(
      SETTINGS.maxSendBufferBytes.env,
      `${result.maxSendBufferBytes} must be at least MAX_FRAME_BYTES (${result.maxFrameBytes})`,
    );
  }
  // An outbox must hold the burst the budgets allow a partner (twice the per-second rates) of the
  // largest signals, or a client within every limit could knock its partner's session out.
  const burst = 2 * (result.sdpPerSecond * result.maxSdpBytes + result.candidatesPerSecond * result.maxCandidateBytes);
  if (result.outboxMaxBytes < burst) {
    throw new ConfigError(
      SETTINGS.outboxMaxBytes.env,
      `${result.outboxMaxBytes} cannot hold a partner's burst of the largest signals: at least 2 × (SDP_PER_SECOND × MAX_SDP_BYTES + CANDIDATES_PER_SECOND × MAX_CANDIDATE_BYTES) = ${burst}`,
    );
  }
  const burstEvents = 2 * (result.sdpPerSecond + result.candidatesPerSecond);
  if (result.outboxMaxEvents < burstEvents) {
    throw new ConfigError(
      SETTINGS.outboxMaxEvents.env,
      `${result.outboxMaxEvents} cannot hold a partner's burst: at least 2 × (SDP_PER_SECOND + CANDIDATES_PER_SECOND) = ${burstEvents}`,
    );
  }
  return result;
}

/** TURN URLs are handed out only with credentials from the secret: one without the other does nothing. */
function checkTurnPair({ turnUrls, turnSecret }: Config): void {
  if (turnUrls.length > 0 && turnSecret === undefined) {
    throw new ConfigError(
      SETTINGS.turnUrls.env,
      'is set but TURN_SECRET is not, so no client would get these servers: set TURN_SECRET (coturn static-auth-secret), or list TURN servers with fixed credentials in ICE_SERVERS',
    );
  }
  if (turnSecret !== undefined && turnUrls.length === 0) {
    throw new ConfigError(
      SETTINGS.turnSecret.env,
      'is set but TURN_URLS is empty, so no TURN server would be handed out',
    );
  }
}

/** Room for the event name, the JSON envelope and escaping around the largest SDP allowed. */
const FRAME_ENVELOPE_BYTES = 4096;

/** Defaults with overrides: how tests and embedders build a config without an environment. */
export function configWith(overrides: Partial<Config> = {}): Config {
  return { ...loadConfig({}), ...overrides };
}
