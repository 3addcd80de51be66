import * as z from 'zod';
import { builtOnce } from '../../protocol/built-once.js';
import type { ApiLocation } from './management-api.js';

/**
 * What pairwire reads from an API Gateway WebSocket event ($connect, $disconnect, $default).
 * Only these fields; API Gateway sends many more, and their absence elsewhere (serverless-offline,
 * tests) must not matter. Loose objects: unknown fields are ignored, not refused. Built with the
 * first event, not at import: a cold start does not wait for it (builtOnce).
 */
const eventSchema = builtOnce(() =>
  z.looseObject({
    requestContext: z.looseObject({
      connectionId: z.string().min(1),
      routeKey: z.string().optional(),
      domainName: z.string().optional(),
      stage: z.string().optional(),
      identity: z.looseObject({ sourceIp: z.string().optional() }).optional(),
    }),
    headers: z.record(z.string(), z.string().optional()).nullish(),
    queryStringParameters: z.record(z.string(), z.string().optional()).nullish(),
    body: z.string().nullish(),
    isBase64Encoded: z.boolean().optional(),
  }),
);

export interface WebSocketEvent {
  connectionId: string;
  api: ApiLocation;
  /** The client's address as API Gateway saw it (the key of per-address limits). */
  sourceIp: string | undefined;
  /** Request headers by lower-case name; only $connect carries them. */
  headers: Record<string, string>;
  /** The connection URL's query parameters; only $connect carries them (`?device=`). */
  query: Record<string, string>;
  /** The message text ($default), base64-decoded when API Gateway encoded a binary frame. */
  body: string;
}

/** Reads an event; throws when it is not an API Gateway WebSocket event at all (a wiring fault). */
export function parseWebSocketEvent(raw: unknown): WebSocketEvent {
  const parsed = eventSchema().safeParse(raw);
  if (!parsed.success) {
    throw new TypeError(`not an API Gateway WebSocket event: ${parsed.error.issues[0]?.message ?? 'malformed'}`);
  }
  const { requestContext, headers, queryStringParameters, body, isBase64Encoded } = parsed.data;
  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(queryStringParameters ?? {})) {
    if (value !== undefined) query[name] = value;
  }
  const lowerCased: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) lowerCased[name.toLowerCase()] = value;
  }
  return {
    connectionId: requestContext.connectionId,
    api: { domainName: requestContext.domainName, stage: requestContext.stage },
    sourceIp: requestContext.identity?.sourceIp,
    headers: lowerCased,
    query,
    body: isBase64Encoded && body ? Buffer.from(body, 'base64').toString('utf8') : (body ?? ''),
  };
}
