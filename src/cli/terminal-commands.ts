import { MAX_REPORT_DETAILS_CHARS, REPORT_REASONS, type ReportReason } from '../client/chat/index.js';

/** What one typed line asks for. Lines that are not one of the commands are messages. */
export type TerminalCommand =
  | { kind: 'message'; text: string }
  | { kind: 'quit' | 'next' | 'block' | 'leave' | 'help' }
  /** `/report <reason> [details]`; `/report! …` also attaches the last messages. */
  | { kind: 'report'; reason: ReportReason; details?: string; attachEvidence: boolean }
  /** `/report` alone: the reasons and how to use it. */
  | { kind: 'report-usage' }
  /** A `/report` the client will not send; `problem` says why, for the user. */
  | { kind: 'invalid'; problem: string };

export const HELP =
  'commands: /next (new partner), /block (never this partner again), /report (report this or the last partner), /leave, /quit';

export const REPORT_USAGE = [
  `/report <reason> [what happened]: reason is one of ${REPORT_REASONS.join(', ')}`,
  '/report! <reason> [what happened]: the same, and attaches the last messages of the chat (kept on your side only)',
  'The partner is blocked for you either way; a current chat ends.',
];

const SIMPLE = new Map<string, TerminalCommand>([
  ['/quit', { kind: 'quit' }],
  ['/next', { kind: 'next' }],
  ['/block', { kind: 'block' }],
  ['/leave', { kind: 'leave' }],
  ['/help', { kind: 'help' }],
]);

/** Reads one line (already trimmed at its end, not empty). */
export function parseTerminalLine(line: string): TerminalCommand {
  const simple = SIMPLE.get(line);
  if (simple) return simple;
  const report = /^\/report(!?)(?:\s+(\S+)(?:\s+([\s\S]*))?)?$/u.exec(line);
  if (!report) return { kind: 'message', text: line };
  const [, bang, reason, rest] = report;
  if (reason === undefined) return { kind: 'report-usage' };
  if (!(REPORT_REASONS as readonly string[]).includes(reason)) {
    return { kind: 'invalid', problem: `"${reason}" is not a reason: use one of ${REPORT_REASONS.join(', ')}` };
  }
  const details = rest?.trim();
  if (details !== undefined && [...details].length > MAX_REPORT_DETAILS_CHARS) {
    return { kind: 'invalid', problem: `what happened is at most ${MAX_REPORT_DETAILS_CHARS} characters` };
  }
  return {
    kind: 'report',
    reason: reason as ReportReason,
    attachEvidence: bang === '!',
    ...(details ? { details } : {}),
  };
}
