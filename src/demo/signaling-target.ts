/**
 * Where the demo page's signaling lives. Served by pairwire itself (Docker, Fly.io), that is the
 * page's own origin, over socket.io, and /signaling.json does not exist there. Served from a
 * static host (Vercel: vercel.json, handlers/vercel.ts), /signaling.json names it: an http(s)://
 * URL is a long-lived pairwire server (socket.io), a ws(s):// URL an API Gateway WebSocket API
 * (plain WebSocket). The signaling server must allow this page's origin (CORS_ORIGINS).
 */

import type { Signaling } from '../client/signaling.js';
import { SignalingClient } from '../client/signaling-client.js';
import { WebSocketSignalingClient } from '../client/websocket-signaling-client.js';

const SIGNALING_CONFIG_PATH = '/signaling.json';

/** A signaling transport for this page: its own server, or the one /signaling.json names. */
export async function connectSignaling(): Promise<Signaling> {
  return transportFor((await configuredUrl()) ?? location.origin);
}

/** socket.io for http(s):// (a pairwire server), plain WebSocket for ws(s):// (API Gateway). */
export function transportFor(url: string): Signaling {
  const { protocol } = new URL(url);
  if (protocol === 'ws:' || protocol === 'wss:') return new WebSocketSignalingClient(url);
  if (protocol === 'http:' || protocol === 'https:') return new SignalingClient(url);
  throw new Error(`signaling URL ${url}: expected https:// (socket.io) or wss:// (API Gateway)`);
}

async function configuredUrl(): Promise<string | undefined> {
  const response = await fetch(SIGNALING_CONFIG_PATH, { cache: 'no-store' });
  if (response.status === 404) return undefined;
  const body = (await response.json().catch(() => ({}))) as { url?: unknown; error?: unknown };
  if (!response.ok || typeof body.url !== 'string') {
    throw new Error(`${SIGNALING_CONFIG_PATH} answered ${response.status}: ${String(body.error ?? 'no url')}`);
  }
  return body.url;
}
