import { createHash, createHmac } from 'node:crypto';

/**
 * AWS Signature Version 4, in headers, for one request with no query string: all that the
 * management API of API Gateway needs (PostToConnection, DeleteConnection). The AWS SDK's client
 * for it is about a third of what a WebSocket function imported at cold start; this is what it
 * does on the way out, checked against the SDK's own signer (management-api.test.ts).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 */

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Set on Lambda (a role's temporary credentials): sent as x-amz-security-token, signed. */
  sessionToken?: string | undefined;
}

export interface RequestToSign {
  method: string;
  /** As sent: its segments URI-encoded once (the canonical form encodes them again). */
  path: string;
  /** Every header to sign, host included. */
  headers: Record<string, string>;
  body: string | Uint8Array;
}

export interface SigningScope {
  credentials: AwsCredentials;
  region: string;
  service: string;
  date?: Date;
}

/** The request's headers with x-amz-date, x-amz-content-sha256, the token if any, and authorization. */
export function signRequest(request: RequestToSign, scope: SigningScope): Record<string, string> {
  const { credentials, region, service } = scope;
  // 2026-12-02T01:13:39.123Z → 20261202T011339Z
  const amzDate = (scope.date ?? new Date()).toISOString().replace(/[-:]|\.\d{3}/g, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  headers['x-amz-date'] = amzDate;
  headers['x-amz-content-sha256'] = sha256Hex(request.body);
  if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;

  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    request.method,
    canonicalPath(request.path),
    '',
    ...names.map((name) => `${name}:${(headers[name] ?? '').trim().replace(/\s+/g, ' ')}`),
    '',
    signedHeaders,
    headers['x-amz-content-sha256'],
  ].join('\n');
  const credentialScope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, credentialScope, sha256Hex(canonicalRequest)].join('\n');
  let key = hmac(`AWS4${credentials.secretAccessKey}`, day);
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${credentialScope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}

/** Each segment URI-encoded (RFC 3986) once more, empty ones dropped, as every service but S3 expects. */
function canonicalPath(path: string): string {
  const segments = path.split('/').filter((segment) => segment.length > 0);
  return `/${segments.map(escapeUri).join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
}

/** RFC 3986 encoding of one path segment (what the AWS SDK puts in a path for a label). */
export function escapeUri(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}
