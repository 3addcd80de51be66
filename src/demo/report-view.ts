/**
 * The demo's Report dialog (public/index.html, #report-dialog): a native modal <dialog>, so the
 * browser traps focus in it, closes it on Escape and gives focus back to the Report button.
 */
import { MAX_REPORT_DETAILS_CHARS, REPORT_REASONS, type ReportReason } from '../client/chat/index.js';
import { element } from './chat-view.js';

/** What the user filled in. */
export interface ReportForm {
  reason: ReportReason;
  details: string;
  attachEvidence: boolean;
}

/** Sends the report; resolves with a refusal to show in the dialog, or undefined when it was sent. */
export type SendReport = (form: ReportForm) => Promise<string | undefined>;

export class ReportView {
  readonly #dialog = element('report-dialog', HTMLDialogElement);
  readonly #form = element('report-form', HTMLFormElement);
  readonly #details = element('report-details', HTMLTextAreaElement);
  readonly #attach = element('report-attach', HTMLInputElement);
  readonly #attachNote = element('report-attach-note', HTMLElement);
  readonly #error = element('report-error', HTMLElement);
  readonly #send = element('report-send', HTMLButtonElement);

  constructor(send: SendReport) {
    this.#details.maxLength = MAX_REPORT_DETAILS_CHARS;
    element('report-cancel', HTMLButtonElement).addEventListener('click', () => this.#dialog.close());
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault();
      const reason = new FormData(this.#form).get('reason');
      if (!(REPORT_REASONS as readonly unknown[]).includes(reason)) return;
      this.#send.disabled = true;
      this.#showError(undefined);
      void send({
        reason: reason as ReportReason,
        details: this.#details.value.trim(),
        attachEvidence: this.#attach.checked,
      }).then((refusal) => {
        this.#send.disabled = false;
        if (refusal === undefined) this.#dialog.close();
        else this.#showError(refusal);
      });
    });
  }

  /** Opens the dialog afresh (nothing ticked); `kept` is how many messages ticking the box would send. */
  open(kept: number): void {
    this.#form.reset();
    this.#showError(undefined);
    this.#send.disabled = false;
    this.#attach.disabled = kept === 0;
    this.#attachNote.textContent =
      kept === 0
        ? 'There are no messages to attach. No message text is sent.'
        : `Sends the last ${kept === 1 ? 'message' : `${kept} messages`} of this chat, yours and theirs, as text with their times, to the people who run this service. Left unticked, no message text is sent.`;
    this.#dialog.showModal();
  }

  close(): void {
    this.#dialog.close();
  }

  #showError(text: string | undefined): void {
    this.#error.textContent = text ?? '';
    this.#error.hidden = text === undefined;
  }
}
