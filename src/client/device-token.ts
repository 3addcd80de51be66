/**
 * A device token as the server takes it (docs/protocol.md, "Device token"; socket.io `auth.device`,
 * plain WebSocket `?device=`): 16–64 of [A-Za-z0-9_-]. The server ignores anything else.
 */
const DEVICE_TOKEN = /^[A-Za-z0-9_-]{16,64}$/;

export function isDeviceToken(value: unknown): value is string {
  return typeof value === 'string' && DEVICE_TOKEN.test(value);
}

/** Where a browser keeps its device token (localStorage). */
export const DEVICE_STORAGE_KEY = 'pairwire-device';

/** What a device token needs of Web Storage: `localStorage`, or anything like it. */
export interface DeviceStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** 24 random bytes as base64url: 32 characters of [A-Za-z0-9_-]. */
export function newDeviceToken(): string {
  const bytes = new Uint8Array(24);
  globalThis.crypto.getRandomValues(bytes);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_');
}

/** This page's token when storage is unavailable: the same for every client of the page, gone with it. */
let pageToken: string | undefined;

/**
 * The token kept in `storage` under DEVICE_STORAGE_KEY, made and stored when there is none (or
 * what is there is not a token). Storage that throws (blocked cookies, private modes, a full
 * quota) or is missing gives a token for this page's lifetime instead.
 */
export function storedDeviceToken(storage: DeviceStorage | undefined): string {
  try {
    const kept = storage?.getItem(DEVICE_STORAGE_KEY);
    if (isDeviceToken(kept)) return kept;
  } catch {
    // Unreadable storage: fall through to a token of this page.
  }
  const token = pageToken ?? newDeviceToken();
  try {
    if (!storage) throw new Error('no storage');
    storage.setItem(DEVICE_STORAGE_KEY, token);
  } catch {
    pageToken = token;
  }
  return token;
}

/**
 * The device token a signaling client sends: `option` when it is a string (checked: 16–64 of
 * [A-Za-z0-9_-], else a TypeError), none for `false`; when not given, in a browser the one kept in
 * localStorage, elsewhere (Node) none.
 */
export function resolveDeviceToken(option: string | false | undefined): string | undefined {
  if (option === false) return undefined;
  if (option !== undefined) {
    if (!isDeviceToken(option)) throw new TypeError('device: a string of 16–64 characters of [A-Za-z0-9_-]');
    return option;
  }
  if (!inBrowser()) return undefined;
  return storedDeviceToken(browserStorage());
}

/**
 * `url` with `device=<token>` added to its query, as the plain WebSocket transport sends it (the
 * token's alphabet needs no escaping); `url` itself without a token.
 */
export function withDeviceQuery(url: string, device: string | undefined): string {
  if (device === undefined) return url;
  const hash = url.indexOf('#');
  const base = hash === -1 ? url : url.slice(0, hash);
  const fragment = hash === -1 ? '' : url.slice(hash);
  return `${base}${base.includes('?') ? '&' : '?'}device=${device}${fragment}`;
}

function inBrowser(): boolean {
  const page = globalThis as { window?: unknown; document?: unknown };
  return typeof page.window === 'object' && page.window !== null && typeof page.document === 'object';
}

/** `localStorage`, or undefined where reading it throws (a sandboxed frame, storage disabled). */
function browserStorage(): DeviceStorage | undefined {
  try {
    return (globalThis as { localStorage?: DeviceStorage }).localStorage;
  } catch {
    return undefined;
  }
}
