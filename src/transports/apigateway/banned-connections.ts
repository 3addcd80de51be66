import { bannedBody } from '../../protocol/errors.js';
import { eventFrame } from '../../protocol/frames.js';
import type { Ban, PairingStore } from '../../store/pairing-store.js';
import { type ConnectionsApi, configuredApi, managementEndpoint, signedConnections } from './management-api.js';

/**
 * Closes every open API Gateway connection of a banned subject, at once, from whichever function
 * made the ban (the HTTP function's operator API, or an automatic ban in a WebSocket function):
 * no process holds these connections, so the store's index of each subject's open ones
 * (PairingStore.subjectConnections, kept by $connect and $disconnect) says which they are. Each
 * gets the `error` event BANNED that every transport sends, then a DeleteConnection; its
 * $disconnect then ends its session and tells its partner. What fails (a connection already gone,
 * the store or the management API unreachable) is handed to `onError` and stops nothing else: the
 * ban holds regardless, and the connection's next `ping` finds it. Resolves with how many
 * connections it closed.
 */
export async function closeBannedConnections(
  store: Pick<PairingStore, 'subjectConnections'>,
  connections: ConnectionsApi,
  ban: Pick<Ban, 'subject' | 'until'>,
  onError: (error: unknown) => void,
): Promise<number> {
  let open: string[];
  try {
    open = await store.subjectConnections(ban.subject);
  } catch (error) {
    onError(error);
    return 0;
  }
  const frame = eventFrame('error', bannedBody(ban));
  const closed = await Promise.all(
    open.map(async (connection) => {
      try {
        // Gone already (a 410): nothing to close.
        if ((await connections.post(connection, frame)) === 'gone') return false;
      } catch (error) {
        // Not told why, but closed all the same.
        onError(error);
      }
      try {
        await connections.drop(connection);
        return true;
      } catch (error) {
        onError(error);
        return false;
      }
    }),
  );
  return closed.filter(Boolean).length;
}

/**
 * What a function that holds no WebSocket event does with a ban (the HTTP function's POST
 * /admin/bans): closes the subject's connections through the management API of the WebSocket API
 * its environment names (WEBSOCKET_MANAGEMENT_ENDPOINT; under serverless offline the local one;
 * else WEBSOCKET_API_ID and WEBSOCKET_STAGE, which serverless.yml sets). Undefined when it names
 * none: the ban holds all the same, and each connection's next `ping` finds it.
 */
export function banCloserFor(
  explicitEndpoint: string | undefined,
  env: Record<string, string | undefined>,
  store: Pick<PairingStore, 'subjectConnections'>,
  onError: (error: unknown) => void,
): ((ban: Ban) => Promise<void>) | undefined {
  let endpoint: string;
  try {
    endpoint = managementEndpoint(explicitEndpoint, env, configuredApi(env));
  } catch {
    return undefined;
  }
  const connections = signedConnections(endpoint, env);
  return async (ban) => {
    await closeBannedConnections(store, connections, ban, onError);
  };
}
