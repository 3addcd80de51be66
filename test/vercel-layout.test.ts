/**
 * No Vercel account here: these checks keep vercel.json true to the repository, and
 * test/e2e/vercel-chat.test.ts serves the result through a stand-in that routes as Vercel does.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, root), 'utf8');
const vercel = JSON.parse(read('vercel.json')) as {
  framework: unknown;
  buildCommand: string;
  outputDirectory: string;
  rewrites: Array<{ source: string; destination: string }>;
};
const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;

describe('vercel.json', () => {
  it('builds the page and the SDK bundle into the output directory, as `npm run build` does', () => {
    expect(vercel.framework).toBeNull(); // the "Other" preset: no framework
    const script = /^npm run ([\w:-]+)$/.exec(vercel.buildCommand)?.[1] ?? '';
    const outdir = /--outdir=(\S+)/.exec(scripts[script] ?? '')?.[1] ?? '';
    expect(outdir.startsWith(`${vercel.outputDirectory}/`), `${script} writes into ${vercel.outputDirectory}/`).toBe(
      true,
    );
    // The build the tests serve (`npm test` runs `npm run build` first) is what Vercel builds.
    expect(scripts.build).toContain(`npm run ${script}`);
    expect(readFileSync(new URL(`${vercel.outputDirectory}/index.html`, root), 'utf8')).toContain('/build/demo.js');
  });

  it('rewrites a public path to every function in api/, and to nothing else', () => {
    const functions = readdirSync(new URL('api/', root))
      .filter((name) => name.endsWith('.ts'))
      .map((name) => `/api/${name.slice(0, -'.ts'.length)}`);
    expect(vercel.rewrites.map((r) => r.destination).sort()).toEqual(functions.sort());
    expect(vercel.rewrites.map((r) => r.source)).toEqual(
      expect.arrayContaining(['/healthz', '/readyz', '/ice-servers', '/signaling.json']),
    );
  });
});
