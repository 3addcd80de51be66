import type { Signal } from './messages.js';

/**
 * A hand-written test for the four signal shapes that `signalSchema` accepts, for the relay hot
 * path: it costs a fraction of the schema's parse and allocates nothing. It only ever says yes to
 * what the schema accepts (a property test holds it to that); a no is not a verdict, since
 * parseSignal then asks the schema, which also words the error.
 */
export function isWellFormedSignal(raw: unknown): raw is Signal {
  if (!isRecord(raw)) return false;
  const keys = Object.keys(raw).length;
  switch (raw.type) {
    case 'offer':
    case 'answer':
      return keys === 2 && typeof raw.sdp === 'string' && raw.sdp.length > 0;
    case 'candidate':
      return keys === 2 && isWellFormedCandidate(raw.candidate);
    case 'end-of-candidates':
      return keys === 1;
    default:
      return false;
  }
}

function isWellFormedCandidate(raw: unknown): boolean {
  if (!isRecord(raw) || typeof raw.candidate !== 'string') return false;
  for (const key of Object.keys(raw)) {
    const value = raw[key];
    switch (key) {
      case 'candidate':
        break;
      case 'sdpMid':
      case 'usernameFragment':
        if (value !== null && value !== undefined && typeof value !== 'string') return false;
        break;
      case 'sdpMLineIndex':
        if (value !== null && value !== undefined && !isLineIndex(value)) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function isLineIndex(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65535;
}

function isRecord(raw: unknown): raw is Record<string, unknown> {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw);
}
