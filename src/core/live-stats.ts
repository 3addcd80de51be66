import type { LiveStats, PairingStore } from '../store/pairing-store.js';

/** How long one answer is reused: every page may poll, and the counts need not be fresher. */
export const STATS_CACHE_MS = 2000;

/**
 * The live counts of one process (docs/protocol.md, "Live counts"), asked of the store at most
 * once per `cacheMs` however many ask: GET /stats on every page and the `stats` event to every
 * waiting client share one answer (or the one question in flight). A failure is not kept: the
 * next caller asks again.
 */
export class LiveStatsCache {
  readonly #store: PairingStore;
  readonly #cacheMs: number;
  #cached: { at: number; answer: Promise<LiveStats> } | undefined;

  constructor(store: PairingStore, cacheMs = STATS_CACHE_MS) {
    this.#store = store;
    this.#cacheMs = cacheMs;
  }

  /** How long an answer is reused, in milliseconds. */
  get cacheMs(): number {
    return this.#cacheMs;
  }

  get(): Promise<LiveStats> {
    const now = Date.now();
    if (!this.#cached || now - this.#cached.at >= this.#cacheMs) {
      const answer = this.#store.stats();
      const cached = { at: now, answer };
      this.#cached = cached;
      answer.catch(() => {
        if (this.#cached === cached) this.#cached = undefined;
      });
    }
    return this.#cached.answer;
  }
}
