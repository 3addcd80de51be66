import type { IncomingMessage } from 'node:http';

/**
 * Which web pages may talk to this server. An empty allowlist means only the server's own page
 * (same origin); "*" means any. Requests without an Origin header (native apps, Node clients, curl)
 * are not from a browser page, so the check does not apply to them.
 */
export function originAllowed(request: IncomingMessage, allowlist: readonly string[]): boolean {
  return originAllowedFor(request.headers.origin, request.headers.host, allowlist);
}

/** The same check from bare header values, for transports without an IncomingMessage (API Gateway). */
export function originAllowedFor(
  origin: string | undefined,
  host: string | undefined,
  allowlist: readonly string[],
): boolean {
  if (!origin) return true;
  if (allowlist.includes('*') || allowlist.includes(origin)) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
