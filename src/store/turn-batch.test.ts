import { describe, expect, it } from 'vitest';
import { TurnBatch } from './turn-batch.js';

/** A batch runner that records each batch and answers every item with its double. */
function doubling() {
  const batches: number[][] = [];
  const batch = new TurnBatch<number, number>(async (items) => {
    batches.push([...items]);
    return items.map((item) => item * 2);
  }, 4);
  return { batch, batches };
}

describe('TurnBatch', () => {
  it('runs the calls of one turn as one batch, answering each caller with its own item', async () => {
    const { batch, batches } = doubling();
    const answers = await Promise.all([batch.add(1), batch.add(2), batch.add(3)]);
    expect(answers).toEqual([2, 4, 6]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('runs calls of later turns in batches of their own, in order', async () => {
    const { batch, batches } = doubling();
    const first = batch.add(1);
    await new Promise((resolve) => setImmediate(resolve));
    const second = batch.add(2);
    expect(await Promise.all([first, second])).toEqual([2, 4]);
    expect(batches).toEqual([[1], [2]]);
  });

  it('splits a turn that gathers more than maxItems, keeping the order', async () => {
    const { batch, batches } = doubling();
    const answers = await Promise.all([1, 2, 3, 4, 5, 6].map((item) => batch.add(item)));
    expect(answers).toEqual([2, 4, 6, 8, 10, 12]);
    expect(batches).toEqual([
      [1, 2, 3, 4],
      [5, 6],
    ]);
  });

  it('fails every caller of a batch that fails, and the next batch runs anew', async () => {
    let fail = true;
    const batch = new TurnBatch<number, number>(async (items) => {
      if (fail) throw new Error('store down');
      return [...items];
    }, 8);
    const failed = await Promise.allSettled([batch.add(1), batch.add(2)]);
    expect(failed.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await batch.add(3)).toBe(3);
  });

  it('fails the callers a runner left without an answer, rather than leaving them waiting', async () => {
    const batch = new TurnBatch<number, number>(async (items) => items.slice(1), 8);
    const outcomes = await Promise.allSettled([batch.add(1), batch.add(2)]);
    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: 2 });
    expect(outcomes[1]?.status).toBe('rejected');
  });

  it('fails the callers of a runner that throws before it returns a promise', async () => {
    const batch = new TurnBatch<number, number>((): Promise<number[]> => {
      throw new Error('bad arguments');
    }, 8);
    await expect(batch.add(1)).rejects.toThrow('bad arguments');
  });
});
