import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { type AwsCredentials, escapeUri, signRequest } from './sigv4.js';

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
 * The API of a function whose events name none (the scheduled sweep; the HTTP function, which
 * closes a banned subject's WebSocket connections): serverless.yml gives it the WebSocket API's id
 * and stage (WEBSOCKET_API_ID, WEBSOCKET_STAGE), and the endpoint is that API's own execute-api
 * one. `managementEndpoint` reads WEBSOCKET_MANAGEMENT_ENDPOINT, and IS_OFFLINE, first.
 */
export function configuredApi(env: Record<string, string | undefined>): ApiLocation {
  const { WEBSOCKET_API_ID: id, WEBSOCKET_STAGE: stage, AWS_REGION: region } = env;
  return { domainName: id && region ? `${id}.execute-api.${region}.amazonaws.com` : undefined, stage };
}

/** Tries of one call that met throttling (429), a server error (5xx) or the network, as the AWS SDK makes. */
const MAX_ATTEMPTS = 3;
const FIRST_BACKOFF_MS = 100;
/** One try's limit, well inside a Lambda's 10 s. */
const ATTEMPT_TIMEOUT_MS = 3000;

/** A management API call answered with a status that is neither success nor 410. */
export class ManagementApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ManagementApiError';
  }
}

/**
 * The management API over HTTPS, signed with the function's credentials (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN: what Lambda sets from its role), the requests the AWS
 * SDK's client makes (PostToConnection: `POST {stage}/@connections/{id}`, DeleteConnection: the
 * same path, `DELETE`), without the SDK: about a third of a cold start's import was its client
 * (docs/deploy.md, "Cold starts"). A 410 is an outcome, not an error: the caller cleans up that
 * one connection. Throttling, server errors and network failures are tried again twice, with a
 * back-off; then, as any other status, thrown.
 */
export function signedConnections(endpoint: string, env: Record<string, string | undefined>): ConnectionsApi {
  const base = new URL(endpoint);
  const secure = base.protocol === 'https:';
  const agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const stagePath = base.pathname.replace(/\/+$/, '');
  const region = regionOf(base.hostname, env);

  async function call(method: 'POST' | 'DELETE', connectionId: string, data?: string): Promise<number> {
    const body = data === undefined ? '' : Buffer.from(data);
    const path = `${stagePath}/@connections/${escapeUri(connectionId)}`;
    const unsigned: Record<string, string> = { host: base.host };
    if (data !== undefined) {
      unsigned['content-type'] = 'application/octet-stream';
      unsigned['content-length'] = String(body.length);
    }
    for (let attempt = 1; ; attempt++) {
      const headers = signRequest(
        { method, path, headers: unsigned, body },
        { credentials: credentialsOf(env), region, service: 'execute-api' },
      );
      try {
        const status = await send({ secure, agent, host: base.hostname, port: base.port, method, path, headers, body });
        if (status < 300 || status === 410) return status;
        if (attempt >= MAX_ATTEMPTS || (status !== 429 && status < 500)) {
          throw new ManagementApiError(status, `${method} @connections: HTTP ${status}`);
        }
      } catch (error) {
        if (error instanceof ManagementApiError || attempt >= MAX_ATTEMPTS) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, FIRST_BACKOFF_MS * 2 ** (attempt - 1)));
    }
  }

  return {
    async post(connectionId, data) {
      return (await call('POST', connectionId, data)) === 410 ? 'gone' : 'sent';
    },
    async drop(connectionId) {
      await call('DELETE', connectionId);
    },
  };
}

interface Outgoing {
  secure: boolean;
  agent: HttpAgent;
  host: string;
  port: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | Buffer;
}

/** One request; resolves with its status once the answer is read (so the socket goes back to the pool). */
function send(out: Outgoing): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = (out.secure ? httpsRequest : httpRequest)(
      {
        agent: out.agent,
        host: out.host,
        port: out.port || undefined,
        method: out.method,
        path: out.path,
        headers: out.headers,
        timeout: ATTEMPT_TIMEOUT_MS,
      },
      (response: IncomingMessage) => {
        response.resume();
        response.once('end', () => resolve(response.statusCode ?? 0));
        response.once('error', reject);
      },
    );
    request.once('timeout', () =>
      request.destroy(new Error(`${out.method} @connections: no answer in ${ATTEMPT_TIMEOUT_MS} ms`)),
    );
    request.once('error', reject);
    request.end(out.body);
  });
}

/** The region of an execute-api host (`{id}.execute-api.{region}.amazonaws.com`), else AWS_REGION (a custom domain). */
function regionOf(hostname: string, env: Record<string, string | undefined>): string {
  const fromHost = /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(hostname)?.[1];
  return fromHost ?? env.AWS_REGION ?? 'us-east-1';
}

/** Read at each call: the function's environment is the only source on Lambda. */
function credentialsOf(env: Record<string, string | undefined>): AwsCredentials {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
  if (!accessKeyId || !secretAccessKey) {
    throw new Error('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set: the management API needs them');
  }
  return { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN || undefined };
}
