import type { IncomingMessage } from 'node:http';

/**
 * The client's address. X-Forwarded-For is trusted only as far as `trustedProxies` hops: each
 * proxy appends the address it received from, so with N trusted proxies the client is the N-th
 * entry from the right. Anything further left was written by the client and proves nothing.
 */
export function clientIp(request: IncomingMessage, trustedProxies: number): string {
  const direct = request.socket.remoteAddress ?? 'unknown';
  if (trustedProxies <= 0) return direct;
  const header = request.headers['x-forwarded-for'];
  const chain = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  return chain[chain.length - trustedProxies] ?? chain[0] ?? direct;
}
