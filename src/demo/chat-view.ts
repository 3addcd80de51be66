/**
 * The demo page's DOM, in one place. Everything the partner sends goes through `textContent`:
 * it is shown as text and can never become markup.
 */
import { MAX_TEXT_LENGTH } from '../client/chat/channel-messages.js';

export type StatusState = 'connecting' | 'waiting' | 'paired' | 'open' | 'idle' | 'error';

/** How long a partner's "typing" hint lasts without being renewed (a lost "stopped" must not stick). */
const TYPING_HINT_MS = 5000;

export class ChatView {
  readonly #status = element('status', HTMLElement);
  readonly #hint = element('hint', HTMLElement);
  readonly #tooLong = element('too-long', HTMLElement);
  readonly #messages = element('messages', HTMLOListElement);
  readonly #typing = element('typing', HTMLElement);
  readonly #form = element('composer', HTMLFormElement);
  readonly #input = element('message', HTMLInputElement);
  readonly #send = this.#form.querySelector('button') ?? fail('Send button');
  readonly #common = element('common', HTMLElement);
  readonly #online = element('online', HTMLElement);
  readonly interestsInput = element('interests', HTMLInputElement);
  readonly nextButton = element('next', HTMLButtonElement);
  readonly leaveButton = element('leave', HTMLButtonElement);
  readonly blockButton = element('block', HTMLButtonElement);
  readonly reportButton = element('report', HTMLButtonElement);
  readonly #receipts = new Map<number, HTMLElement>();
  #typingTimer: ReturnType<typeof setTimeout> | undefined;
  #open = false;

  constructor() {
    // No `maxlength`: it would cut a long paste without a word. The text stays whole, and the
    // user is told how much is over.
    this.#input.addEventListener('input', () => this.#checkLength());
  }

  setStatus(state: StatusState, text: string): void {
    this.#status.dataset.state = state;
    this.#status.textContent = text;
    this.#open = state === 'open';
    this.#input.disabled = !this.#open;
    this.#updateSend();
    if (!this.#open) this.showTyping(false);
    if (this.#open) this.#input.focus();
  }

  /** A hint under the status (what to do while nothing happens), or none. */
  showHint(text: string | undefined): void {
    this.#hint.textContent = text ?? '';
    this.#hint.hidden = text === undefined;
  }

  /** "You both like …" for the current partner, or nothing (none shared, or no partner). */
  showCommon(interests: readonly string[]): void {
    this.#common.textContent = interests.length > 0 ? `You both like ${interests.join(', ')}.` : '';
    this.#common.hidden = interests.length === 0;
  }

  /** How many people are here (GET /stats), or nothing when it is not known. */
  showOnline(online: number | undefined): void {
    this.#online.textContent = online === undefined ? '' : `${online.toLocaleString('en')} online`;
    this.#online.hidden = online === undefined;
  }

  /** Which of New partner, Leave, Block and Report make sense now. */
  setControls({
    next,
    leave,
    block,
    report,
  }: {
    next: boolean;
    leave: boolean;
    block: boolean;
    report: boolean;
  }): void {
    this.nextButton.disabled = !next;
    this.leaveButton.disabled = !leave;
    this.blockButton.disabled = !block;
    this.reportButton.disabled = !report;
  }

  /** Calls `submit` with the typed text when the user sends; clears the input if it returns true. */
  onSubmit(submit: (text: string) => boolean): void {
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault();
      const text = this.#input.value;
      if (text.trim() === '') return;
      if (text.length > MAX_TEXT_LENGTH) return;
      if (submit(text)) {
        this.#input.value = '';
        this.#checkLength();
      }
    });
  }

  /** Calls `typing(true)` while the user types and `typing(false)` when the input empties. */
  onTyping(typing: (active: boolean) => void): void {
    this.#input.addEventListener('input', () => typing(this.#input.value !== ''));
  }

  addMine(id: number, text: string): void {
    const item = this.#message('mine', 'You', text);
    const receipt = document.createElement('span');
    receipt.className = 'receipt';
    receipt.textContent = 'sent';
    item.append(receipt);
    this.#receipts.set(id, receipt);
  }

  markDelivered(id: number): void {
    const receipt = this.#receipts.get(id);
    if (receipt) receipt.textContent = 'delivered';
  }

  addTheirs(text: string): void {
    this.#message('theirs', 'Partner', text);
  }

  addNotice(text: string): void {
    const item = document.createElement('li');
    item.className = 'notice';
    item.textContent = text;
    this.#append(item);
  }

  /** A new partner: the old conversation goes (ids restart with each partner). */
  clearMessages(): void {
    this.#messages.replaceChildren();
    this.#receipts.clear();
  }

  showTyping(active: boolean): void {
    clearTimeout(this.#typingTimer);
    this.#typing.textContent = active ? 'Partner is typing…' : '';
    if (active) this.#typingTimer = setTimeout(() => this.showTyping(false), TYPING_HINT_MS);
  }

  #checkLength(): void {
    const length = this.#input.value.length;
    const over = length > MAX_TEXT_LENGTH;
    this.#tooLong.hidden = !over;
    this.#tooLong.textContent = over
      ? `Too long to send: ${length.toLocaleString('en')} characters, the limit is ${MAX_TEXT_LENGTH.toLocaleString('en')}. Shorten it or send it in parts.`
      : '';
    this.#updateSend();
  }

  #updateSend(): void {
    this.#send.disabled = !this.#open || this.#input.value.length > MAX_TEXT_LENGTH;
  }

  #message(kind: 'mine' | 'theirs', who: string, text: string): HTMLLIElement {
    const item = document.createElement('li');
    item.className = `message ${kind}`;
    // Screen readers hear who spoke; sighted users see it from the bubble's side.
    const speaker = document.createElement('span');
    speaker.className = 'visually-hidden';
    speaker.textContent = `${who}: `;
    const body = document.createElement('span');
    body.className = 'text';
    body.textContent = text;
    item.append(speaker, body);
    this.#append(item);
    return item;
  }

  #append(item: HTMLLIElement): void {
    this.#messages.append(item);
    item.scrollIntoView({ block: 'end' });
  }
}

/** The page's element `id`, of `type`; throws when the page lacks it. */
export function element<T extends HTMLElement>(id: string, type: new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) return fail(`#${id}`);
  return found;
}

function fail(what: string): never {
  throw new Error(`demo page: ${what} is missing`);
}
