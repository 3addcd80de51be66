/** Lambda entrypoint of the HTTP API (serverless.yml: /healthz, /readyz, /ice-servers). */
import serverless from 'serverless-http';
import { loadConfig } from '../src/config.js';
import { createServerlessApp } from '../src/serverless-app.js';

export const handler = serverless(createServerlessApp(loadConfig()).http);
