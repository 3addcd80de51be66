/**
 * Gathers the calls made during one turn of the event loop into one batch, run once the turn's
 * I/O callbacks are done (setImmediate), each caller getting its own item's answer.
 *
 * Why: under load, one poll phase hands the process the frames of many connections, and each
 * relayed signal used to be its own Redis script call. A call costs the same fixed work on both
 * sides whatever it carries (a Command and a promise in ioredis, a write and a read, the script's
 * set-up in Redis), so many signals in one call cost much less each. At a low rate a batch holds one
 * item and costs one setImmediate more than a call of its own; nothing waits for a batch to fill.
 */
export class TurnBatch<Item, Answer> {
  readonly #run: (items: readonly Item[]) => Promise<readonly Answer[]>;
  readonly #maxItems: number;
  #items: Item[] = [];
  #waiting: { resolve: (answer: Answer) => void; reject: (error: unknown) => void }[] = [];
  #scheduled = false;

  /**
   * `run` answers every item, in order (one answer each), or fails them all. `maxItems` bounds a
   * batch: a turn that gathers more runs several, one after another in the same turn.
   */
  constructor(run: (items: readonly Item[]) => Promise<readonly Answer[]>, maxItems: number) {
    this.#run = run;
    this.#maxItems = maxItems;
  }

  add(item: Item): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      this.#items.push(item);
      this.#waiting.push({ resolve, reject });
      if (this.#items.length >= this.#maxItems) this.#flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#flush();
        });
      }
    });
  }

  #flush(): void {
    if (this.#items.length === 0) return;
    const items = this.#items;
    const waiting = this.#waiting;
    this.#items = [];
    this.#waiting = [];
    let answered: Promise<readonly Answer[]>;
    try {
      answered = this.#run(items);
    } catch (error) {
      answered = Promise.reject(error);
    }
    answered.then(
      (answers) => {
        waiting.forEach((caller, i) => {
          if (i < answers.length) caller.resolve(answers[i] as Answer);
          else caller.reject(new Error(`a batch of ${items.length} gave ${answers.length} answers`));
        });
      },
      (error: unknown) => {
        for (const caller of waiting) caller.reject(error);
      },
    );
  }
}
