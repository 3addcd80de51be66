import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';

/** Whether a frame reached its connection, or the connection no longer exists (HTTP 410). */
export type PostOutcome = 'sent' | 'gone';

/** Sends one frame to one API Gateway WebSocket connection. */
export type PostToConnection = (connectionId: string, data: string) => Promise<PostOutcome>;

/** The management API of one stage: what the handlers do to connections other than answering. */
export interface ConnectionsApi {
  post: PostToConnection;
  /** Closes a connection from the server side (its $disconnect follows); a vanished one is no error. */
  drop(connectionId: string): Promise<void>;
}

/** Where the connections of one API and stage are managed; what an event tells about its API. */
export interface ApiLocation {
  domainName?: string | undefined;
  stage?: string | undefined;
}

/** serverless-offline's WebSocket server also serves the management API (`--websocketPort`, 3001 by default). */
export const OFFLINE_MANAGEMENT_ENDPOINT = 'http://127.0.0.1:3001';

/**
 * The management API endpoint: an explicit WEBSOCKET_MANAGEMENT_ENDPOINT wins (a custom domain,
 * or serverless-offline on another port); under serverless-offline (IS_OFFLINE) the local one;
 * otherwise the API's own `https://{domainName}/{stage}`, read from the event.
 */
export function managementEndpoint(
  explicit: string | undefined,
  env: Record<string, string | undefined>,
  api: ApiLocation,
): string {
  if (explicit) return explicit;
  if (env.IS_OFFLINE) return OFFLINE_MANAGEMENT_ENDPOINT;
  if (!api.domainName || !api.stage) {
    throw new Error('the event names no domainName/stage: set WEBSOCKET_MANAGEMENT_ENDPOINT');
  }
  return `https://${api.domainName}/${api.stage}`;
}

/** The AWS SDK's management client module, loaded at its first use (see sdkConnections). */
type ManagementSdk = typeof import('@aws-sdk/client-apigatewaymanagementapi');

/**
 * The management API through the AWS SDK. A 410 (GoneException) is an outcome, not an error: the
 * caller cleans up that one connection. Any other failure (throttling, network) is thrown.
 *
 * The SDK is imported at the first post or drop, not with the handler: it is about a third of what
 * a cold start imports (docs/deploy.md, "Cold starts"), and `$connect`, a `$disconnect` without a
 * partner to tell, and every frame answered by nothing never need it. esbuild puts it in a chunk of
 * its own that only that import reads.
 */
export function sdkConnections(endpoint: string): ConnectionsApi {
  let loaded: Promise<{ sdk: ManagementSdk; client: ApiGatewayManagementApiClient }> | undefined;
  const load = () => {
    loaded ??= import('@aws-sdk/client-apigatewaymanagementapi').then((sdk) => ({
      sdk,
      client: new sdk.ApiGatewayManagementApiClient({ endpoint }),
    }));
    // A failed import is tried again at the next call rather than remembered.
    loaded.catch(() => {
      loaded = undefined;
    });
    return loaded;
  };
  const encoder = new TextEncoder();
  return {
    async post(connectionId, data) {
      const { sdk, client } = await load();
      try {
        await client.send(new sdk.PostToConnectionCommand({ ConnectionId: connectionId, Data: encoder.encode(data) }));
        return 'sent';
      } catch (error) {
        if (isGone(sdk, error)) return 'gone';
        throw error;
      }
    },
    async drop(connectionId) {
      const { sdk, client } = await load();
      try {
        await client.send(new sdk.DeleteConnectionCommand({ ConnectionId: connectionId }));
      } catch (error) {
        if (!isGone(sdk, error)) throw error;
      }
    },
  };
}

function isGone(sdk: ManagementSdk, error: unknown): boolean {
  if (error instanceof sdk.GoneException) return true;
  // Some SDK paths (and serverless-offline's plain 410) surface only the status code.
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  return status === 410;
}
