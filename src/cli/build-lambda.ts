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
import { readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

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

/** The rate-limiter-flexible classes src/limits uses; importing another fails the build (no such export). */
const RATE_LIMITER_CLASSES = ['RateLimiterMemory', 'RateLimiterRedis', 'RateLimiterRes'];

/**
 * `rate-limiter-flexible` is CommonJS whose entry loads every limiter it has (MySQL, Postgres,
 * Mongo, DynamoDB, cluster, …), so a bundle would carry and run them all: about 5 ms of each cold
 * start. Here the package name resolves to the three classes pairwire uses, each from its own file.
 */
const rateLimiterClassesOnly: Plugin = {
  name: 'rate-limiter-classes-only',
  setup(build) {
    build.onResolve({ filter: /^rate-limiter-flexible$/ }, (args) => ({
      path: 'rate-limiter-flexible',
      namespace: 'rate-limiter-classes',
      pluginData: { resolveDir: args.resolveDir },
    }));
    build.onLoad({ filter: /.*/, namespace: 'rate-limiter-classes' }, (args) => ({
      contents: RATE_LIMITER_CLASSES.map(
        (name) => `export { default as ${name} } from 'rate-limiter-flexible/lib/${name}.js';`,
      ).join('\n'),
      resolveDir: (args.pluginData as { resolveDir: string }).resolveDir,
      loader: 'js',
    }));
  },
};

/** What pino's lib/caller.js does today (pino 10); the build stops if that changes. */
const PINO_CALLERS = 'return getCallSites().slice(2).map(callSite => callSite.scriptName)';

/**
 * Every pino() asks Node for its callers' file names (to resolve relative transport paths; pairwire
 * has no transport). On Node 22.13 and later (Lambda's nodejs22.x) with --enable-source-maps,
 * util.getCallSites() maps each call site through the source map, which parses the bundle's whole
 * map: some 35 ms of every cold start, measured (docs/deploy.md, "Cold starts"). The bundled pino
 * asks for the call sites as they are, the file names that exist on disk (what resolving a path
 * wants anyway); Node versions without the option get the plain call.
 */
const pinoCallersUnmapped: Plugin = {
  name: 'pino-callers-unmapped',
  setup(build) {
    build.onLoad({ filter: /[\\/]pino[\\/]lib[\\/]caller\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes(PINO_CALLERS)) {
        throw new Error(`${args.path} changed: check what pinoCallersUnmapped (src/cli/build-lambda.ts) replaces`);
      }
      // Both calls sit directly in getCallers, so slice(2) still drops the same two frames.
      const unmapped = [
        'let callSites',
        'try { callSites = getCallSites({ sourceMap: false }) } catch { callSites = getCallSites() }',
        'return callSites.slice(2).map(callSite => callSite.scriptName)',
      ].join('\n');
      return { contents: source.replace(PINO_CALLERS, unmapped), loader: 'js' };
    });
  },
};

/** iconv-lite's list of encoding modules today (iconv-lite 0.7); the build stops if it changes. */
const ICONV_ENCODINGS = `var modules = [
  require("./internal"),
  require("./utf32"),
  require("./utf16"),
  require("./utf7"),
  require("./sbcs-codec"),
  require("./sbcs-data"),
  require("./sbcs-data-generated"),
  require("./dbcs-codec"),
  require("./dbcs-data")
]`;

/**
 * iconv-lite comes in with Express's JSON body parser (the operator API's POST /admin/bans), and
 * its entry loads every encoding it knows. Its double-byte ones (Shift JIS, EUC-JP, GBK, GB 18030,
 * Big5, EUC-KR: the codec and its tables) were 0.42 MB of the 1.2 MB HTTP bundle, read and compiled
 * at every cold start. That parser refuses any charset not named `utf-…` before decoding (415, RFC
 * 7159 §8.1), no double-byte encoding has such a name, and none of the codecs kept asks for one
 * (UTF-7 decodes through `ascii`, a single-byte table: those stay). So the bundled iconv-lite has
 * every encoding but the double-byte ones. test/lambda-package.test.ts checks that the bundle
 * answers a body in each UTF charset, and in others, exactly as the unbundled app does.
 */
const iconvWithoutDoubleByte: Plugin = {
  name: 'iconv-without-double-byte',
  setup(build) {
    build.onLoad({ filter: /[\\/]iconv-lite[\\/]encodings[\\/]index\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes(ICONV_ENCODINGS)) {
        throw new Error(`${args.path} changed: check what iconvWithoutDoubleByte (src/cli/build-lambda.ts) keeps`);
      }
      const kept = ['internal', 'utf32', 'utf16', 'utf7', 'sbcs-codec', 'sbcs-data', 'sbcs-data-generated'];
      const modules = kept.map((name) => `  require("./${name}")`).join(',\n');
      return { contents: source.replace(ICONV_ENCODINGS, `var modules = [\n${modules}\n]`), loader: 'js' };
    });
  },
};

/** Where ioredis's Commander puts a method per Redis command on its prototype (ioredis 5 and 6). */
const IOREDIS_COMMAND_LOOP = 'commands.forEach(function (commandName) {\n    Commander.prototype[commandName] =';

/**
 * ioredis defines two methods per Redis command (about 600) on its `Commander` class's prototype,
 * one assignment at a time, when the module loads. V8 builds a class's prototype in its fast
 * layout, and every property added to it afterwards copies that layout: on Node 20 those 600
 * assignments took about 30 ms of every cold start (the largest single cost in the WebSocket
 * bundle's profile), against 1 ms for the same assignments to an object in dictionary mode. Adding
 * and deleting one property first turns the prototype into dictionary mode, the mode V8 itself
 * uses for a prototype being set up; V8 makes it fast again when it is first used as a prototype.
 * The methods, their order and everything else are unchanged; the build stops if the loop changes.
 */
export const ioredisCommandsInSetupMode: Plugin = {
  name: 'ioredis-commands-in-setup-mode',
  setup(build) {
    build.onLoad({ filter: /[\\/]ioredis[\\/]built[\\/]utils[\\/]Commander\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes(IOREDIS_COMMAND_LOOP)) {
        throw new Error(
          `${args.path} changed: check what ioredisCommandsInSetupMode (src/cli/build-lambda.ts) patches`,
        );
      }
      const setupMode = [
        'Commander.prototype.pairwireSetupMode = true;',
        'delete Commander.prototype.pairwireSetupMode;',
      ].join('\n');
      return { contents: source.replace(IOREDIS_COMMAND_LOOP, `${setupMode}\n${IOREDIS_COMMAND_LOOP}`), loader: 'js' };
    });
  },
};

/** Where mime-types 3 builds its extension maps when it loads; the build stops if this changes. */
const MIME_TYPES_MAPS = `exports.extensions = Object.create(null)
exports.lookup = lookup
exports.types = Object.create(null)
exports._extensionConflicts = []

// Populate the extensions/types maps
populateMaps(exports.extensions, exports.types)`;

/**
 * mime-types (Express's `res.type`, `req.is`, send, accepts) builds its extension → type maps when
 * it loads, scoring every type of mime-db's 2,500 that has extensions: part of every HTTP cold
 * start, though those maps serve only lookups by extension (`res.type('html')`), which the HTTP
 * function's routes never make (`res.json` names its type in full and reads mime-db directly).
 * The bundled mime-types builds the same maps, by the same code, when they are first read.
 * src/cli/build-lambda.test.ts checks that every lookup answers as mime-types itself does.
 */
export const mimeTypesMapsOnFirstUse: Plugin = {
  name: 'mime-types-maps-on-first-use',
  setup(build) {
    build.onLoad({ filter: /[\\/]mime-types[\\/]index\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes(MIME_TYPES_MAPS)) {
        throw new Error(`${args.path} changed: check what mimeTypesMapsOnFirstUse (src/cli/build-lambda.ts) patches`);
      }
      const onFirstUse = `exports.lookup = lookup
var pairwireMaps = null
function pairwireMapsBuilt () {
  if (pairwireMaps === null) {
    pairwireMaps = { extensions: Object.create(null), types: Object.create(null), conflicts: [] }
    populateMaps(pairwireMaps.extensions, pairwireMaps.types)
  }
  return pairwireMaps
}
Object.defineProperty(exports, 'extensions', { enumerable: true, get: function () { return pairwireMapsBuilt().extensions } })
Object.defineProperty(exports, 'types', { enumerable: true, get: function () { return pairwireMapsBuilt().types } })
Object.defineProperty(exports, '_extensionConflicts', { enumerable: true, get: function () { return pairwireMapsBuilt().conflicts } })`;
      return { contents: source.replace(MIME_TYPES_MAPS, onFirstUse), loader: 'js' };
    });
  },
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildLambdaBundles();
}
