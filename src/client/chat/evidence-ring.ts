import { type EvidenceMessage, MAX_REPORT_EVIDENCE_BYTES } from '../../protocol/messages.js';

export interface EvidenceRingOptions {
  /** The most messages kept. Default 20. */
  maxMessages?: number;
  /** The most bytes the kept messages take as the JSON array `report` sends (UTF-8). Default 4096, the server's limit. */
  maxBytes?: number;
}

const encoder = new TextEncoder();

/** UTF-8 bytes of `value` as JSON. */
function jsonBytes(value: unknown): number {
  return encoder.encode(JSON.stringify(value)).length;
}

/**
 * The last messages of a chat, kept on this side only, as evidence the user may choose to attach
 * to a report (chat text never passes through the server otherwise). Bounded by count and by the
 * size of its JSON, the oldest dropped first; a single message too long to fit alone is cut.
 */
export class EvidenceRing {
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  /** Oldest first, each with the bytes of its own JSON. */
  #entries: Array<{ message: EvidenceMessage; bytes: number }> = [];
  /** Bytes of the entries' JSON without the array's brackets and commas. */
  #itemBytes = 0;

  constructor({ maxMessages = 20, maxBytes = MAX_REPORT_EVIDENCE_BYTES }: EvidenceRingOptions = {}) {
    if (!Number.isInteger(maxMessages) || maxMessages < 0) throw new RangeError('maxMessages: a whole number ≥ 0');
    // `[]` is 2 bytes: anything smaller could hold nothing, not even an empty list.
    if (!Number.isInteger(maxBytes) || maxBytes < 2) throw new RangeError('maxBytes: a whole number ≥ 2');
    this.#maxMessages = maxMessages;
    this.#maxBytes = maxBytes;
  }

  /** Keeps `message` (its text cut if it alone would not fit), dropping the oldest until both bounds hold. */
  add(message: EvidenceMessage): void {
    if (this.#maxMessages === 0) return;
    const fitted = this.#fit({ from: message.from, text: message.text, at: message.at });
    if (!fitted) return;
    this.#entries.push(fitted);
    this.#itemBytes += fitted.bytes;
    while (this.#entries.length > this.#maxMessages || this.bytes > this.#maxBytes) {
      const dropped = this.#entries.shift();
      if (dropped) this.#itemBytes -= dropped.bytes;
    }
  }

  /** A copy of what is kept, oldest first: exactly what `report` may send as `evidence`. */
  messages(): EvidenceMessage[] {
    return this.#entries.map(({ message }) => ({ ...message }));
  }

  get size(): number {
    return this.#entries.length;
  }

  /** The UTF-8 size of `JSON.stringify(this.messages())`. */
  get bytes(): number {
    const n = this.#entries.length;
    return 2 + this.#itemBytes + Math.max(0, n - 1);
  }

  clear(): void {
    this.#entries = [];
    this.#itemBytes = 0;
  }

  /**
   * The message with its text cut (whole code points, with an ellipsis) so that it alone fits,
   * or undefined when not even an empty text would.
   */
  #fit(message: EvidenceMessage): { message: EvidenceMessage; bytes: number } | undefined {
    const room = this.#maxBytes - 2;
    const bytes = jsonBytes(message);
    if (bytes <= room) return { message, bytes };
    const points = [...message.text];
    // The longest prefix that fits, by bisection on code points.
    let low = 0;
    let high = points.length - 1;
    let best: { message: EvidenceMessage; bytes: number } | undefined;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const cut = { ...message, text: `${points.slice(0, middle).join('')}…` };
      const cutBytes = jsonBytes(cut);
      if (cutBytes <= room) {
        best = { message: cut, bytes: cutBytes };
        low = middle + 1;
      } else high = middle - 1;
    }
    return best;
  }
}
