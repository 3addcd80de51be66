/**
 * How big the chat SDK is on a web page (npm run size): the bundle that `npm run build:web` serves
 * at /build/pairwire-chat.js, minified, then gzipped and brotli-compressed as the server sends it.
 * Twice: without socket.io-client (marked external: what pairwire itself costs, the figure the
 * README quotes and src/cli/sdk-size.test.ts bounds) and with it (what a page downloads).
 */
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The chat SDK's entry, as in package.json's build:web. */
export const SDK_ENTRY = 'src/client/chat/index.ts';

export interface BundleSize {
  minifiedBytes: number;
  gzipBytes: number;
  brotliBytes: number;
  /** The source files in the bundle, relative to the repository root. */
  inputs: string[];
}

/** Bundles the SDK as build:web does (ESM, browser, ES2022, minified), in memory. */
export async function measureSdk(options: { withSocketIo: boolean }): Promise<BundleSize> {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [SDK_ENTRY],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'warning',
    external: options.withSocketIo ? [] : ['socket.io-client'],
  });
  const code = result.outputFiles[0]?.contents ?? new Uint8Array();
  return {
    minifiedBytes: code.byteLength,
    gzipBytes: gzipSync(code, { level: 9 }).byteLength,
    brotliBytes: brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).byteLength,
    inputs: Object.keys((result.metafile as Metafile).inputs),
  };
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

export function sizeTable(rows: Array<[string, BundleSize]>): string {
  const lines = ['| chat SDK bundle | minified | gzip | brotli |', '| --- | ---: | ---: | ---: |'];
  for (const [name, size] of rows) {
    lines.push(`| ${name} | ${kib(size.minifiedBytes)} | ${kib(size.gzipBytes)} | ${kib(size.brotliBytes)} |`);
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const without = await measureSdk({ withSocketIo: false });
  const withIo = await measureSdk({ withSocketIo: true });
  console.log(
    sizeTable([
      ['without socket.io-client', without],
      ['with socket.io-client', withIo],
    ]),
  );
}
