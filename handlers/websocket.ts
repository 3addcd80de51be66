/**
 * Lambda entrypoints of the WebSocket API (serverless.yml: $connect, $disconnect, $default, and
 * the scheduled sweep that tells the partners of drops whose grace ran out and pairs waiting
 * clients whose fallback passed).
 * Built once per container, at cold start; the Redis connection is reused by warm invocations.
 */
import { loadConfig } from '../src/config.js';
import { createServerlessApp } from '../src/serverless-app.js';

const { websocket } = createServerlessApp(loadConfig());

export const connect = websocket.connect;
export const disconnect = websocket.disconnect;
export const message = websocket.message;
export const sweep = websocket.sweep;
