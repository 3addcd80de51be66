import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { afterEach, describe, expect, it } from 'vitest';
import { ManagementApiError, signedConnections } from './management-api.js';
import { signRequest } from './sigv4.js';

const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE',
};
const ENV = {
  AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
  AWS_SESSION_TOKEN: CREDENTIALS.sessionToken,
  AWS_REGION: 'eu-west-1',
};
/** A connection id as API Gateway makes them: base64, so `=`, `+` and `/` occur. */
const CONNECTION = 'L0SM9cOFv+HcCIh/w=';

interface SentRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** What the AWS SDK's client sends for a command, signed, caught before it leaves the process. */
async function sdkRequest(endpoint: string, command: 'post' | 'delete'): Promise<SentRequest> {
  let caught: SentRequest | undefined;
  const client = new ApiGatewayManagementApiClient({
    endpoint,
    region: 'eu-west-1',
    credentials: CREDENTIALS,
    requestHandler: {
      handle: async (request: { method: string; path: string; headers: Record<string, string>; body?: Uint8Array }) => {
        caught = {
          method: request.method,
          path: request.path,
          headers: request.headers,
          body: request.body ? Buffer.from(request.body).toString() : '',
        };
        return { response: { statusCode: 200, headers: {}, body: Readable.from([]) } };
      },
    },
  });
  if (command === 'post') {
    await client.send(
      new PostToConnectionCommand({ ConnectionId: CONNECTION, Data: new TextEncoder().encode('{"type":"é"}') }),
    );
  } else {
    await client.send(new DeleteConnectionCommand({ ConnectionId: CONNECTION }));
  }
  if (!caught) throw new Error('the SDK sent nothing');
  return caught;
}

/** 20261202T011339Z → its Date. */
function amzDate(value: string): Date {
  const [, y, mo, d, h, mi, s] = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(value) ?? [];
  return new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
}

/** The signature `signRequest` makes of a request's own headers, at its own date. */
function resign(request: SentRequest, drop: string[]): string | undefined {
  const headers = Object.fromEntries(
    Object.entries(request.headers).filter(([name]) => !drop.includes(name.toLowerCase())),
  );
  return signRequest(
    { method: request.method, path: request.path, headers, body: request.body },
    {
      credentials: CREDENTIALS,
      region: 'eu-west-1',
      service: 'execute-api',
      date: amzDate(request.headers['x-amz-date'] ?? ''),
    },
  ).authorization;
}

/** What signRequest adds itself, and what the SDK sends unsigned. */
const ADDED = ['authorization', 'x-amz-date', 'x-amz-content-sha256', 'x-amz-security-token', 'user-agent'];

describe('SigV4 for the management API', () => {
  for (const command of ['post', 'delete'] as const) {
    it(`signs a ${command} exactly as the AWS SDK does`, async () => {
      const sent = await sdkRequest('https://abc123.execute-api.eu-west-1.amazonaws.com/prod', command);
      expect(sent.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\//);
      expect(resign(sent, ADDED)).toBe(sent.headers.authorization);
    });
  }
});

describe('the management API without the AWS SDK', () => {
  const servers: { close(): void }[] = [];
  afterEach(() => {
    for (const server of servers.splice(0)) server.close();
  });

  /** A real HTTP server standing in for the management endpoint: answers `status(connection)`, records each request. */
  async function endpoint(status: (connection: string, attempt: number) => number) {
    const received: SentRequest[] = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const path = request.url ?? '';
        received.push({ method: request.method ?? '', path, headers: plain(request.headers), body });
        const connection = decodeURIComponent(path.split('/').at(-1) ?? '');
        const attempts = received.filter((r) => r.path === path).length;
        response.statusCode = status(connection, attempts);
        response.end();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`;
    return { url, received, api: signedConnections(url, ENV) };
  }

  it('sends what the SDK sends, signed so that the signature checks out', async () => {
    const { url, received, api } = await endpoint(() => 200);
    expect(await api.post(CONNECTION, '{"type":"é"}')).toBe('sent');
    await api.drop(CONNECTION);
    const [post, del] = received;
    for (const [mine, command] of [
      [post, 'post'],
      [del, 'delete'],
    ] as const) {
      const sdk = await sdkRequest(url, command);
      expect(mine?.method).toBe(sdk.method);
      expect(mine?.path).toBe(sdk.path);
      expect(mine?.body).toBe(sdk.body);
      expect(mine?.headers['content-type']).toBe(sdk.headers['content-type']);
      expect(mine?.headers['x-amz-security-token']).toBe(CREDENTIALS.sessionToken);
      // Checked as API Gateway checks it: the same signature, remade from what arrived.
      if (mine) expect(resign(mine, [...ADDED, 'connection'])).toBe(mine.headers.authorization);
    }
  });

  it('reads a 410 as gone, tries again after a 5xx or a 429, and throws on a refusal', async () => {
    const { received, api } = await endpoint((connection, attempt) => {
      if (connection === 'gone') return 410;
      if (connection === 'flaky') return attempt < 3 ? (attempt === 1 ? 503 : 429) : 200;
      if (connection === 'down') return 500;
      return 403;
    });
    expect(await api.post('gone', 'x')).toBe('gone');
    await api.drop('gone');
    expect(await api.post('flaky', 'x')).toBe('sent');
    await expect(api.post('down', 'x')).rejects.toThrow(ManagementApiError);
    await expect(api.post('forbidden', 'x')).rejects.toMatchObject({ status: 403 });
    const tries = (path: string) => received.filter((r) => r.path.endsWith(`/${path}`)).length;
    expect([tries('flaky'), tries('down'), tries('forbidden')]).toEqual([3, 3, 1]);
  });
});

function plain(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)]));
}
