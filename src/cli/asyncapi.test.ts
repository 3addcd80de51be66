import { readFileSync } from 'node:fs';
import { Parser } from '@asyncapi/parser';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ErrorCode } from '../protocol/errors.js';
import { FRAME_ACTIONS } from '../protocol/frames.js';
import { COMMANDS, SERVER_EVENTS } from '../protocol/messages.js';
import { ASYNCAPI_PATH, renderAsyncApi } from './asyncapi.js';

const checkedIn = readFileSync(new URL(`../../${ASYNCAPI_PATH}`, import.meta.url), 'utf8');

interface Message {
  name: string;
}

describe('docs/asyncapi.yaml', () => {
  it('is what npm run asyncapi generates from the schemas today (regenerate it after a protocol change)', () => {
    expect(checkedIn).toBe(renderAsyncApi());
  });

  it('is a valid AsyncAPI document: the parser reports no error', async () => {
    const diagnostics = await new Parser().validate(checkedIn);
    const errors = diagnostics.filter((diagnostic) => diagnostic.severity === 0);
    expect(errors.map((error) => `${error.path.join('.')}: ${error.message}`)).toEqual([]);
  }, 60_000);

  it('covers every command with its ack and every server event, on both transports, and every error code', () => {
    const document = parse(checkedIn) as {
      components: { messages: Record<string, Message>; schemas: { ErrorCode: { enum: string[] } } };
      operations: Record<string, { action: string; reply?: unknown }>;
    };
    for (const transport of ['socketio', 'websocket']) {
      for (const command of COMMANDS) {
        const operation = document.operations[`${transport}.receive.${command}`];
        expect(operation?.action, `${transport}.${command}`).toBe('receive');
        expect(operation?.reply, `${transport}.${command} ack`).toBeDefined();
      }
      for (const event of SERVER_EVENTS) {
        // API Gateway clients poll GET /stats: the plain WebSocket has no stats event.
        if (transport === 'websocket' && event === 'stats') continue;
        expect(document.operations[`${transport}.send.${event}`]?.action, `${transport}.${event}`).toBe('send');
      }
    }
    for (const action of FRAME_ACTIONS) expect(document.operations[`websocket.receive.${action}`]).toBeDefined();
    expect(document.components.schemas.ErrorCode.enum.sort()).toEqual(Object.values(ErrorCode).sort());
  });
});
