/**
 * The `report` command's wire shapes and limits (docs/protocol.md, "Report"), without
 * dependencies: the client SDK imports them, the server's schema holds payloads to the same limits.
 */

/** Why a partner is reported; the server refuses any other reason (INVALID_PAYLOAD). */
export const REPORT_REASONS = ['spam', 'harassment', 'sexual-content', 'minor-safety', 'other'] as const;
export type ReportReason = (typeof REPORT_REASONS)[number];

/** The longest `details` (characters). */
export const MAX_REPORT_DETAILS_CHARS = 500;
/** The largest `evidence`, as JSON in UTF-8. */
export const MAX_REPORT_EVIDENCE_BYTES = 4096;

/** One chat message the reporter kept and chose to send: who wrote it, what, when (ms since the epoch). */
export interface EvidenceMessage {
  from: 'self' | 'partner';
  text: string;
  at: number;
}

/** `report`: the pair `room` (current, or ended a short while ago), a reason, and what the reporter adds. */
export interface ReportPayload {
  room: string;
  reason: ReportReason;
  details?: string;
  evidence?: EvidenceMessage[];
}

export function isReportReason(value: unknown): value is ReportReason {
  return (REPORT_REASONS as readonly unknown[]).includes(value);
}

/**
 * A device token, as clients send it (socket.io `auth.device`, plain WebSocket `?device=`): random,
 * kept by the client, so a ban can follow a device across addresses.
 */
export const DEVICE_TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

export function isDeviceToken(value: unknown): value is string {
  return typeof value === 'string' && DEVICE_TOKEN_PATTERN.test(value);
}
