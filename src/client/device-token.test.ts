import { afterEach, describe, expect, it } from 'vitest';
import {
  DEVICE_STORAGE_KEY,
  type DeviceStorage,
  isDeviceToken,
  newDeviceToken,
  resolveDeviceToken,
  storedDeviceToken,
  withDeviceQuery,
} from './device-token.js';

/** Web Storage as a browser gives it, in memory. */
class MemoryStorage implements DeviceStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
}

/** Storage as Safari's private mode or a blocked-cookies setting gives it: every call throws. */
class BlockedStorage implements DeviceStorage {
  getItem(): string | null {
    throw new DOMException('The operation is insecure.', 'SecurityError');
  }
  setItem(): void {
    throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
  }
}

describe('device token', () => {
  it('is 32 random characters of the protocol’s alphabet', () => {
    const tokens = new Set(Array.from({ length: 200 }, () => newDeviceToken()));
    expect(tokens.size).toBe(200);
    for (const token of tokens) {
      expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(isDeviceToken(token)).toBe(true);
    }
  });

  it('is made once and kept in storage under pairwire-device', () => {
    const storage = new MemoryStorage();
    const token = storedDeviceToken(storage);
    expect(storage.items.get(DEVICE_STORAGE_KEY)).toBe(token);
    expect(storedDeviceToken(storage)).toBe(token);
  });

  it('replaces what storage holds when it is not a token', () => {
    const storage = new MemoryStorage();
    storage.setItem(DEVICE_STORAGE_KEY, 'short');
    const token = storedDeviceToken(storage);
    expect(token).not.toBe('short');
    expect(isDeviceToken(token)).toBe(true);
    expect(storage.items.get(DEVICE_STORAGE_KEY)).toBe(token);
  });

  it('without usable storage, is one token for the page’s lifetime', () => {
    const blocked = storedDeviceToken(new BlockedStorage());
    expect(isDeviceToken(blocked)).toBe(true);
    expect(storedDeviceToken(new BlockedStorage())).toBe(blocked);
    expect(storedDeviceToken(undefined)).toBe(blocked);
  });

  describe('resolveDeviceToken (the option of both signaling clients)', () => {
    afterEach(() => {
      delete (globalThis as { window?: unknown }).window;
      delete (globalThis as { document?: unknown }).document;
      delete (globalThis as { localStorage?: unknown }).localStorage;
    });

    it('takes a valid token as given, none for false, and none by default in Node', () => {
      expect(resolveDeviceToken('abcdefghijklmnop')).toBe('abcdefghijklmnop');
      expect(resolveDeviceToken(false)).toBeUndefined();
      expect(resolveDeviceToken(undefined)).toBeUndefined();
    });

    it('refuses a token outside the protocol’s format with a TypeError', () => {
      for (const bad of ['short', 'x'.repeat(65), 'has spaces in it!!', 'ünïcödé-tokens-here']) {
        expect(() => resolveDeviceToken(bad)).toThrow(TypeError);
      }
    });

    it('in a browser, defaults to the one in localStorage', () => {
      const storage = new MemoryStorage();
      storage.setItem(DEVICE_STORAGE_KEY, 'kept-from-last-visit-0123');
      Object.assign(globalThis, { window: globalThis, document: {}, localStorage: storage });
      expect(resolveDeviceToken(undefined)).toBe('kept-from-last-visit-0123');
    });
  });

  it('goes on a WebSocket URL as ?device=, beside a query and before a fragment', () => {
    const token = 'abcdefghijklmnop';
    expect(withDeviceQuery('wss://x.example/prod', token)).toBe(`wss://x.example/prod?device=${token}`);
    expect(withDeviceQuery('wss://x.example/prod?a=1', token)).toBe(`wss://x.example/prod?a=1&device=${token}`);
    expect(withDeviceQuery('ws://127.0.0.1:3001#f', token)).toBe(`ws://127.0.0.1:3001?device=${token}#f`);
    expect(withDeviceQuery('ws://127.0.0.1:3001', undefined)).toBe('ws://127.0.0.1:3001');
  });
});
