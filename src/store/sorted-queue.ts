/**
 * Sessions ordered by a number, ties by id (string order): the memory store's stand-in for a
 * Redis sorted set, with the same order, so both stores meet waiting sessions in the same order.
 * A sorted array: lookups and inserts by binary search; the splices move pointers, cheap at the
 * sizes one process holds.
 */
export class SortedQueue {
  readonly #entries: { id: string; key: number }[] = [];

  get size(): number {
    return this.#entries.length;
  }

  add(id: string, key: number): void {
    this.#entries.splice(this.#search(id, key), 0, { id, key });
  }

  /** Removes `id`, which was added with `key`; false when it is not there. */
  delete(id: string, key: number): boolean {
    const at = this.#search(id, key);
    if (this.#entries[at]?.id !== id) return false;
    this.#entries.splice(at, 1);
    return true;
  }

  /** The first `count` entries, lowest key first (a copy: the caller may change the queue meanwhile). */
  head(count: number): { id: string; key: number }[] {
    return this.#entries.slice(0, count);
  }

  clear(): void {
    this.#entries.length = 0;
  }

  /** Where (id, key) is, or would be inserted. */
  #search(id: string, key: number): number {
    let low = 0;
    let high = this.#entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const entry = this.#entries[middle] as { id: string; key: number };
      if (entry.key < key || (entry.key === key && entry.id < id)) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
