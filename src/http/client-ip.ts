import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** How the client's address is read behind proxies (CLIENT_IP_HEADER, TRUST_PROXY). */
export interface ClientAddressRule {
  /** A header (lower case) the edge proxy sets to the client's address, overwriting any the client sent. */
  clientIpHeader: string | undefined;
  /** Proxies in front of the server whose X-Forwarded-For entries are trusted. */
  trustProxy: number;
}

/**
 * The client's address, for per-address limits.
 *
 * With `clientIpHeader`, the edge's own header wins (Fly.io's Fly-Client-IP: on Fly the rightmost
 * X-Forwarded-For entry is the app's own address, so hop counting would count every user as one).
 * It is read only when it holds exactly one address: a repeated header or a list means something
 * other than the edge wrote it, and the request falls back to the rules below.
 *
 * X-Forwarded-For is trusted only as far as `trustProxy` hops: each proxy appends the address it
 * received from, so with N trusted proxies the client is the N-th entry from the right. Anything
 * further left was written by the client and proves nothing. Without either, the socket's address.
 */
export function clientIp(request: IncomingMessage, rule: ClientAddressRule): string {
  if (rule.clientIpHeader) {
    const fromEdge = singleAddress(request.headers[rule.clientIpHeader]);
    if (fromEdge) return fromEdge;
  }
  const direct = request.socket.remoteAddress ?? 'unknown';
  if (rule.trustProxy <= 0) return direct;
  const header = request.headers['x-forwarded-for'];
  const chain = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  return chain[chain.length - rule.trustProxy] ?? chain[0] ?? direct;
}

/** The header's value when it is one IP address (Node joins repeated unknown headers with ", "). */
function singleAddress(value: string | string[] | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const address = value.trim();
  return isIP(address) ? address : undefined;
}
