/**
 * What the Lambda bundles (build-lambda.ts) change in their dependencies, as esbuild plugins: each
 * one leaves out or defers work a cold start would otherwise do at import, without changing what
 * the dependency does for pairwire's code. Each checks the exact source it patches and stops the
 * build if a new version of the dependency changed it. docs/deploy.md, "Cold starts", explains
 * them; bundle-patches.test.ts and test/lambda-package.test.ts check them.
 */
import { readFile } from 'node:fs/promises';
import type { Plugin } from 'esbuild';

/** The rate-limiter-flexible classes src/limits uses; importing another fails the build (no such export). */
const RATE_LIMITER_CLASSES = ['RateLimiterMemory', 'RateLimiterRedis', 'RateLimiterRes'];

/**
 * `rate-limiter-flexible` is CommonJS whose entry loads every limiter it has (MySQL, Postgres,
 * Mongo, DynamoDB, cluster, …), so a bundle would carry and run them all: about 5 ms of each cold
 * start. Here the package name resolves to the three classes pairwire uses, each from its own file.
 */
export const rateLimiterClassesOnly: Plugin = {
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
export const pinoCallersUnmapped: Plugin = {
  name: 'pino-callers-unmapped',
  setup(build) {
    build.onLoad({ filter: /[\\/]pino[\\/]lib[\\/]caller\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes(PINO_CALLERS)) {
        throw new Error(`${args.path} changed: check what pinoCallersUnmapped (src/cli/bundle-patches.ts) replaces`);
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
export const iconvWithoutDoubleByte: Plugin = {
  name: 'iconv-without-double-byte',
  setup(build) {
    build.onLoad({ filter: /[\\/]iconv-lite[\\/]encodings[\\/]index\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes(ICONV_ENCODINGS)) {
        throw new Error(`${args.path} changed: check what iconvWithoutDoubleByte (src/cli/bundle-patches.ts) keeps`);
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
          `${args.path} changed: check what ioredisCommandsInSetupMode (src/cli/bundle-patches.ts) patches`,
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
 * src/cli/bundle-patches.test.ts checks that every lookup answers as mime-types itself does.
 */
export const mimeTypesMapsOnFirstUse: Plugin = {
  name: 'mime-types-maps-on-first-use',
  setup(build) {
    build.onLoad({ filter: /[\\/]mime-types[\\/]index\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes(MIME_TYPES_MAPS)) {
        throw new Error(`${args.path} changed: check what mimeTypesMapsOnFirstUse (src/cli/bundle-patches.ts) patches`);
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
