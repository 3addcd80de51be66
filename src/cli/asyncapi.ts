/**
 * The AsyncAPI 3 document of the wire protocol (npm run asyncapi writes docs/asyncapi.yaml), for
 * both transports: socket.io (events with acknowledgements) and the plain-WebSocket JSON frames
 * of API Gateway. Every payload is generated from the zod schemas of src/protocol (zod 4's JSON
 * Schema output), so the document cannot drift from what the server accepts and sends:
 * src/cli/asyncapi.test.ts validates it with the AsyncAPI parser and fails if the checked-in file
 * differs from what this script writes. The prose stays in docs/protocol.md.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import * as z from 'zod';
import { resumePayloadSchema } from '../protocol/frame-parsing.js';
import { BYE, MAX_ACK_ID, PING, RESUME } from '../protocol/frames.js';
import { COMMANDS, type Command, SERVER_EVENTS, type ServerEventName } from '../protocol/messages.js';
import {
  ackSchema,
  commandSchemas,
  errorBodySchema,
  errorCodeSchema,
  iceCandidateSchema,
  iceServerSchema,
  leaveReasonSchema,
  serverEventSchemas,
} from '../protocol/schemas.js';

export const ASYNCAPI_PATH = 'docs/asyncapi.yaml';

type Json = Record<string, unknown>;

/** What each command does, for people; the payloads and acks come from the schemas. */
const COMMAND_SUMMARIES: Record<Command, string> = {
  join: 'Queue for a partner, with optional matchmaking preferences.',
  signal: 'Relay a WebRTC signal to the current partner, unchanged (the sender never names a destination).',
  next: 'End the current pair (the partner hears partner-left, reason next) and queue again.',
  leave: 'End the current pair (reason leave) or leave the queue; idempotent.',
  ack: 'The client processed every event up to seq (cumulative): the server may forget them.',
  block: 'End the pair like next; the two are never paired again while both sessions live.',
  proof:
    "Answer the bot gate's challenge (the session event's challenge) before join: a proof-of-work nonce or a human-verification token.",
  report:
    'Report the partner of a current or recently ended pair (room) to the operator; blocks them for the reporter and ends a current pair like block.',
};

const EVENT_SUMMARIES: Record<ServerEventName, string> = {
  session: 'First on every (re)connection (plain WebSocket: the answer to resume). Not numbered.',
  waiting: 'The client entered the queue.',
  paired: 'The client has a partner.',
  signal: "The partner's signal, exactly as sent.",
  stats: 'The live counts, every STATS_EVENT_MS while the client waits (socket.io only). Not numbered, never replayed.',
  'partner-left': 'The partner is gone; the client is now idle.',
  error:
    'Something the server did for the client failed (plain WebSocket: also a refused frame without an id). Not numbered.',
};

/** A name usable in a component key: `partner-left` → `PartnerLeft`. */
const pascal = (name: string) => name.replace(/(^|-)([a-z])/g, (_m, _dash, letter: string) => letter.toUpperCase());

/** The schema without its `undefined` option: the payload's shape when there is one. */
function present(schema: z.ZodType): z.ZodType {
  if (!(schema instanceof z.ZodUnion)) return schema;
  const options = schema.options as z.ZodType[];
  const defined = options.filter((option) => !(option instanceof z.ZodUndefined));
  if (defined.length === options.length) return schema;
  if (defined.length !== 1) throw new Error('asyncapi: an optional payload must have one shape');
  return defined[0] as z.ZodType;
}

/** Every schema the document names, each once, by component name. */
function namedSchemas(): Map<string, z.ZodType> {
  const named = new Map<string, z.ZodType>();
  named.set('ErrorCode', errorCodeSchema());
  named.set('ErrorBody', errorBodySchema());
  named.set('IceCandidate', iceCandidateSchema());
  named.set('IceServer', iceServerSchema());
  named.set('LeaveReason', leaveReasonSchema());
  // Payloads shared by several commands are named once (join, next and block take Preferences).
  const payloadNames = new Map<z.ZodType, string>();
  for (const command of COMMANDS) {
    const payload = present(commandSchemas()[command].payload);
    if (payloadNames.has(payload)) continue;
    const name = command === 'join' ? 'Preferences' : command === 'signal' ? 'Signal' : `${pascal(command)}Payload`;
    payloadNames.set(payload, name);
    named.set(name, payload);
  }
  for (const event of SERVER_EVENTS) {
    const schema = serverEventSchemas()[event];
    if ([...named.values()].includes(schema)) continue;
    named.set(event === 'signal' ? 'Signal' : `${pascal(event)}Payload`, schema);
  }
  for (const command of COMMANDS) named.set(`${pascal(command)}Ack`, ackSchema(commandSchemas()[command].result));
  named.set('OkAck', ackSchema(z.object({})));
  named.set('ResumePayload', resumePayloadSchema());
  return named;
}

/** JSON Schema (draft 7, which AsyncAPI's schema format extends) of every named schema, with $refs between them. */
function componentSchemas(named: Map<string, z.ZodType>): {
  schemas: Record<string, Json>;
  ref: (s: z.ZodType) => Json;
} {
  const registry = z.registry<{ id: string }>();
  const names = new Map<z.ZodType, string>();
  for (const [name, schema] of named) {
    registry.add(schema, { id: name });
    names.set(schema, name);
  }
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-7',
    io: 'input',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Json> };
  for (const schema of Object.values(schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }
  const ref = (schema: z.ZodType): Json => {
    const name = names.get(schema);
    if (!name) throw new Error('asyncapi: a payload schema has no component name');
    return { $ref: `#/components/schemas/${name}` };
  };
  return { schemas, ref };
}

const ackIdSchema: Json = {
  type: 'integer',
  minimum: 0,
  maximum: MAX_ACK_ID,
  description: "The client's own counter; the ack carries it back.",
};
const seqSchema: Json = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER };

/** A client → server frame of the plain-WebSocket envelope. */
function clientFrame(action: string, payload: Json | undefined, payloadRequired: boolean, extra: Json = {}): Json {
  const properties: Json = { action: { const: action }, id: ackIdSchema, ...extra };
  if (payload) properties.payload = payload;
  return {
    type: 'object',
    properties,
    required: payloadRequired ? ['action', 'payload'] : ['action'],
    additionalProperties: false,
  };
}

/** A server → client frame of the plain-WebSocket envelope. */
function serverFrame(type: string, payload: Json, extra: Json = {}, required: string[] = []): Json {
  return {
    type: 'object',
    properties: { type: { const: type }, ...extra, payload },
    required: ['type', 'payload', ...required],
  };
}

/** The whole document, as a plain object. */
export function asyncApiDocument(): Json {
  const named = namedSchemas();
  const { schemas, ref } = componentSchemas(named);
  const messages: Json = {};
  const socketIoMessages: Json = {};
  const wsMessages: Json = {};
  const operations: Json = {};
  const socketIo = { $ref: '#/channels/socketio' };
  const ws = { $ref: '#/channels/websocket' };
  const message = (channel: 'socketio' | 'websocket', key: string, body: Json): { $ref: string } => {
    messages[key] = body;
    const target = channel === 'socketio' ? socketIoMessages : wsMessages;
    target[key] = { $ref: `#/components/messages/${key}` };
    return { $ref: `#/channels/${channel}/messages/${key}` };
  };

  for (const command of COMMANDS) {
    const { payload, optional } = commandSchemas()[command];
    const payloadRef = ref(present(payload));
    const ackRef = ref(named.get(`${pascal(command)}Ack`) as z.ZodType);
    const summary = COMMAND_SUMMARIES[command];
    const request = message('socketio', `${command}`, {
      name: command,
      title: `${command} (command)`,
      summary,
      description: optional
        ? 'socket.io event; the payload may be left out (or `{}`). Send it with an acknowledgement callback.'
        : command === 'signal'
          ? "socket.io event. Send it with an acknowledgement callback. An optional second argument, `cseq` (1, 2, 3, … in the session's order), lets a retry after a resume be relayed at most once (protocol.md, Resuming)."
          : 'socket.io event. Send it with an acknowledgement callback (`ack` may go without).',
      payload: payloadRef,
    });
    const reply = message('socketio', `${command}Ack`, {
      name: `${command} ack`,
      title: `${command} acknowledgement`,
      summary: `The argument of the acknowledgement callback of ${command}.`,
      payload: ackRef,
    });
    operations[`socketio.receive.${command}`] = {
      action: 'receive',
      channel: socketIo,
      summary,
      messages: [request],
      reply: { channel: socketIo, messages: [reply] },
    };
    const frame = message('websocket', `${command}Frame`, {
      name: command,
      title: `${command} (frame)`,
      summary,
      payload: clientFrame(
        command,
        payloadRef,
        !optional,
        command === 'signal'
          ? {
              cseq: {
                ...seqSchema,
                description: "The signal's number in its session's own order: relayed in this order.",
              },
            }
          : {},
      ),
    });
    const ackFrame = message('websocket', `${command}AckFrame`, {
      name: 'ack',
      title: `${command} acknowledgement (frame)`,
      summary: `The answer to a ${command} frame that carried an id.`,
      payload: serverFrame('ack', ackRef, { id: ackIdSchema }, ['id']),
    });
    operations[`websocket.receive.${command}`] = {
      action: 'receive',
      channel: ws,
      summary,
      messages: [frame],
      reply: { channel: ws, messages: [ackFrame] },
    };
  }

  const okAck = ref(named.get('OkAck') as z.ZodType);
  const envelopeActions: Array<[string, string, Json | undefined]> = [
    [PING, 'Keep-alive: renews the session and resets API Gateway’s 10-minute idle timer.', undefined],
    [
      RESUME,
      'The connection’s first frame: claims an earlier session, or takes the connection’s own; its Preferences are those of the join it asks for. Answered by a session event, the replay of every event after lastSeq, then the ack.',
      ref(resumePayloadSchema()),
    ],
    [BYE, 'The goodbye: the session and its pair end at once.', undefined],
  ];
  for (const [action, summary, payload] of envelopeActions) {
    const frame = message('websocket', `${action}Frame`, {
      name: action,
      title: `${action} (frame)`,
      summary,
      payload: clientFrame(action, payload, false),
    });
    const operation: Json = { action: 'receive', channel: ws, summary, messages: [frame] };
    if (action !== BYE) {
      const reply = message('websocket', `${action}AckFrame`, {
        name: 'ack',
        title: `${action} acknowledgement (frame)`,
        payload: serverFrame('ack', okAck, { id: ackIdSchema }, ['id']),
      });
      operation.reply = { channel: ws, messages: [reply] };
    }
    operations[`websocket.receive.${action}`] = operation;
  }

  for (const event of SERVER_EVENTS) {
    const payloadRef = ref(serverEventSchemas()[event]);
    const numbered = event !== 'session' && event !== 'error' && event !== 'stats';
    const summary = EVENT_SUMMARIES[event];
    const key = pascal(event).replace(/^./, (c) => c.toLowerCase());
    const emitted = message('socketio', `${key}Event`, {
      name: event,
      title: `${event} (event)`,
      summary,
      description: numbered
        ? "socket.io event; a second argument carries the session's sequence number (acknowledge it with ack)."
        : 'socket.io event, with no sequence number.',
      payload: payloadRef,
    });
    operations[`socketio.send.${event}`] = { action: 'send', channel: socketIo, summary, messages: [emitted] };
    const extra: Json = {};
    if (numbered) extra.seq = { ...seqSchema, description: "The event's number in its session." };
    if (event === 'signal') extra.room = { type: 'string', description: 'The pair the signal was sent in.' };
    const frame = message('websocket', `${key}EventFrame`, {
      name: event,
      title: `${event} (frame)`,
      summary,
      payload: serverFrame(event, payloadRef, extra, numbered ? ['seq'] : []),
    });
    // The plain WebSocket carries no stats event: its clients poll GET /stats.
    if (event !== 'stats')
      operations[`websocket.send.${event}`] = { action: 'send', channel: ws, summary, messages: [frame] };
  }

  return {
    asyncapi: '3.1.0',
    info: {
      title: 'pairwire',
      version: '1',
      description:
        'WebRTC signaling for one-to-one text chat: pairs two strangers, relays SDP and ICE. Generated from the zod schemas in src/protocol by `npm run asyncapi`; the rules, order and limits are in docs/protocol.md.',
    },
    servers: {
      socketio: {
        host: 'localhost:3000',
        protocol: 'ws',
        pathname: '/socket.io',
        description:
          'The long-lived server: socket.io v4 (Engine.IO 4), default namespace. An embedder may choose the path or the namespace.',
      },
      apigateway: {
        host: '{apiId}.execute-api.{region}.amazonaws.com',
        protocol: 'wss',
        pathname: '/{stage}',
        description: 'The serverless deployment: API Gateway WebSocket API, one JSON object per message.',
        variables: {
          apiId: { description: 'The WebSocket API id.' },
          region: { default: 'us-east-1' },
          stage: { default: 'dev' },
        },
      },
    },
    channels: {
      socketio: {
        address: '/',
        title: 'socket.io',
        description:
          'Each message is a socket.io event whose name is the message name and whose argument is the payload; commands take an acknowledgement callback. The handshake `auth` may carry `{ session, lastSeq }` (resume), `join` (queue at once) and Preferences.',
        servers: [{ $ref: '#/servers/socketio' }],
        messages: socketIoMessages,
      },
      websocket: {
        address: '/',
        title: 'plain WebSocket (API Gateway)',
        description:
          'JSON frames: `{action, id?, payload?, cseq?}` from the client (API Gateway routes on `action`), `{type, payload, seq?}` and `{type: "ack", id, payload}` from the server.',
        servers: [{ $ref: '#/servers/apigateway' }],
        messages: wsMessages,
      },
    },
    operations,
    components: { schemas, messages },
  };
}

/** The document as written to docs/asyncapi.yaml. */
export function renderAsyncApi(): string {
  return `# Generated by \`npm run asyncapi\` (src/cli/asyncapi.ts) from src/protocol: do not edit.\n${stringify(
    asyncApiDocument(),
    { lineWidth: 0, aliasDuplicateObjects: false },
  )}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(new URL(`../../${ASYNCAPI_PATH}`, import.meta.url), renderAsyncApi());
  console.log(`wrote ${ASYNCAPI_PATH}`);
}
