import { createHmac, randomBytes } from 'node:crypto';

/** Never leaves the process: without it a tag cannot be matched to an address, even by trying all 2³² IPv4 ones. */
const KEY = randomBytes(32);

/**
 * What logs say instead of a client's address: a keyed hash, the same for the same address within
 * this process (so an operator sees one address behind many refusals) and meaningless outside it.
 * Logs name sockets, rooms and these tags only (docs/security.md).
 */
export function addressTag(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  return createHmac('sha256', KEY).update(address).digest('base64url').slice(0, 16);
}
