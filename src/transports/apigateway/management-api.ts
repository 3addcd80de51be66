import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';

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

/**
 * The management API through the AWS SDK. A 410 (GoneException) is an outcome, not an error: the
 * caller cleans up that one connection. Any other failure (throttling, network) is thrown.
 */
export function sdkConnections(endpoint: string): ConnectionsApi {
  const client = new ApiGatewayManagementApiClient({ endpoint });
  const encoder = new TextEncoder();
  return {
    async post(connectionId, data) {
      try {
        await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: encoder.encode(data) }));
        return 'sent';
      } catch (error) {
        if (isGone(error)) return 'gone';
        throw error;
      }
    },
    async drop(connectionId) {
      try {
        await client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
      } catch (error) {
        if (!isGone(error)) throw error;
      }
    },
  };
}

function isGone(error: unknown): boolean {
  if (error instanceof GoneException) return true;
  // Some SDK paths (and serverless-offline's plain 410) surface only the status code.
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  return status === 410;
}
