import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RequestHandler } from 'express';
import { staticAssets } from './static-assets.js';

/**
 * Serves the demo chat page at `/` from public/ (the page, its styles, and build/ which
 * `npm run build` fills with the esbuild bundles), compressed and with cache headers
 * (static-assets.ts). public/ sits next to package.json, found by walking up from this file: it
 * works from src/ (tsx), from dist/src/ and in the Docker image.
 */
export function demoPage(): RequestHandler[] {
  return staticAssets(join(packageRoot(), 'public'), { index: 'index.html' });
}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('demo page: no package.json above the server code');
    dir = parent;
  }
  return dir;
}
