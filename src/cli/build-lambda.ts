/**
 * Bundles each Lambda entrypoint into one file (npm run build:lambda; `npm run build` runs it):
 * dist/lambda/websocket.mjs ($connect, $disconnect, $default) and dist/lambda/http.mjs (/healthz,
 * /readyz, /ice-servers), each with its source map. serverless.yml packages each function with its
 * bundle alone, and `serverless offline` serves the same files, so the tests run what ships.
 *
 * Why: a cold start reads and compiles every module the handler imports before the first frame.
 * Unbundled, that is hundreds of files out of a 50 MB node_modules tree; bundled, it is one file
 * holding only what the handler reaches (docs/deploy.md, "Cold starts", has the figures).
 */
import { rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import {
  iconvWithoutDoubleByte,
  ioredisCommandsInSetupMode,
  mimeTypesMapsOnFirstUse,
  pinoCallersUnmapped,
  rateLimiterClassesOnly,
} from './bundle-patches.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** One bundle per entrypoint; serverless.yml names `dist/lambda/<name>/<name>.<export>`. */
export const LAMBDA_BUNDLES = ['websocket', 'http'] as const;

/** Where the bundles go, relative to the repository root: one folder each, packaged whole. */
export const LAMBDA_OUTDIR = 'dist/lambda';

export async function buildLambdaBundles(): Promise<void> {
  await rm(`${ROOT}${LAMBDA_OUTDIR}`, { recursive: true, force: true });
  for (const name of LAMBDA_BUNDLES) await buildBundle(name);
}

async function buildBundle(name: (typeof LAMBDA_BUNDLES)[number]): Promise<void> {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [{ in: `handlers/${name}.ts`, out: name }],
    outdir: `${LAMBDA_OUTDIR}/${name}`,
    bundle: true,
    // What a dependency loads with import() becomes a file of its own, read only if that import
    // runs.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    platform: 'node',
    // What package.json's engines allow (local development, `serverless offline`); Lambda runs 22.
    target: 'node20',
    // ES modules, as the tsc build: `.mjs` tells Lambda's runtime (and serverless-offline's copy of
    // it) so without a package.json beside the file.
    format: 'esm',
    outExtension: { '.js': '.mjs' },
    // CommonJS dependencies (express, ioredis, pino) call require() on Node's built-ins; inside an
    // ES module there is no require() unless the bundle makes one.
    banner: {
      js: "import { createRequire as pairwireCreateRequire } from 'node:module'; const require = pairwireCreateRequire(import.meta.url);",
    },
    // A package's ES build when it has one: unlike CommonJS, esbuild can drop what nothing imports
    // from it.
    mainFields: ['module', 'main'],
    minify: true,
    // Stack traces name the TypeScript file and line (NODE_OPTIONS=--enable-source-maps in
    // serverless.yml). The maps list the sources without embedding them: half the size.
    sourcemap: true,
    sourcesContent: false,
    // Everything is bundled. No AWS SDK is reached: the management API is two signed HTTPS
    // requests (src/transports/apigateway/sigv4.ts), and the SDK's client was a third of the
    // import (docs/deploy.md, "Cold starts").
    plugins: [
      rateLimiterClassesOnly,
      pinoCallersUnmapped,
      iconvWithoutDoubleByte,
      ioredisCommandsInSetupMode,
      mimeTypesMapsOnFirstUse,
    ],
    metafile: true,
    logLevel: 'warning',
  });
  // What went into the bundle, byte by byte (esbuild's analyzer reads it); beside it, not packaged.
  await writeFile(`${ROOT}${LAMBDA_OUTDIR}/${name}.meta.json`, JSON.stringify(result.metafile));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildLambdaBundles();
}
