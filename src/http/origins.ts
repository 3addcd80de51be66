import type { IncomingMessage } from 'node:http';

/**
 * Which web pages may talk to this server. An empty allowlist means only the server's own page
 * (same origin); "*" means any. Requests without an Origin header (native apps, Node clients, curl)
 * are not from a browser page, so the check does not apply to them.
 */
export function originAllowed(request: IncomingMessage, allowlist: readonly string[]): boolean {
  const origin = request.headers.origin;
  if (!origin) return true;
  if (allowlist.includes('*') || allowlist.includes(origin)) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}
