#!/usr/bin/env node
// `npx pairwire`: the standalone server, configured by the same environment variables as `npm start`.
import '../dist/src/server.js';
