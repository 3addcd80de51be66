/**
 * The Lambda artifacts as AWS gets them: `serverless package` run offline (dummy credentials, no
 * AWS call), and a reader for the zips it writes. Shared by the packaging test
 * (test/lambda-package.test.ts) and the cold-start benchmark (bench/lambda-size.ts).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

/** The repository: the folder of serverless.yml above this file (run from src/cli/ or compiled under dist/). */
export const ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'serverless.yml'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('no serverless.yml above src/cli/lambda-artifacts');
    dir = parent;
  }
  return dir;
})();

/** The functions serverless.yml declares, each packaged into `<name>.zip`. */
export const LAMBDA_FUNCTIONS = ['connect', 'disconnect', 'message', 'sweep', 'http'] as const;
export type LambdaFunction = (typeof LAMBDA_FUNCTIONS)[number];

/**
 * Runs `serverless package --package <outDir>` on the current build (dist/lambda: `npm run build`
 * first) and returns each function's zip.
 */
export async function packageFunctions(outDir: string): Promise<Record<LambdaFunction, string>> {
  await serverlessPackage(ROOT, outDir);
  return Object.fromEntries(LAMBDA_FUNCTIONS.map((name) => [name, join(outDir, `${name}.zip`)])) as Record<
    LambdaFunction,
    string
  >;
}

/**
 * `serverless package --package <outDir>` in `root` (a checkout with its serverless.yml, build and
 * node_modules). Nothing reaches AWS: REDIS_URL is given, so the SSM fallback of serverless.yml is
 * never resolved, and the credentials are dummies.
 */
export function serverlessPackage(root: string, outDir: string): Promise<void> {
  const { VPC_SUBNET_IDS, VPC_SECURITY_GROUP_IDS, ...inherited } = process.env;
  return new Promise<void>((done, fail) => {
    execFile(
      process.execPath,
      [join(root, 'node_modules', 'serverless', 'bin', 'serverless.js'), 'package', '--package', outDir],
      {
        cwd: root,
        env: {
          ...inherited,
          AWS_ACCESS_KEY_ID: 'local',
          AWS_SECRET_ACCESS_KEY: 'local',
          AWS_REGION: 'us-east-1',
          SLS_TELEMETRY_DISABLED: '1',
          SLS_NOTIFICATIONS_MODE: 'off',
          REDIS_URL: 'redis://127.0.0.1:6379',
        },
        // Packaging the unbundled tree (npm run bench:lambda's before) zips 50 MB: minutes on a busy machine.
        timeout: 600_000,
      },
      (error, stdout, stderr) => (error ? fail(new Error(`serverless package failed:\n${stdout}${stderr}`)) : done()),
    );
  });
}

export interface ZipEntry {
  name: string;
  /** Bytes as stored in the zip. */
  compressedSize: number;
  /** Bytes once extracted. */
  size: number;
  /** The extracted content. */
  data(): Buffer;
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_FILE_HEADER = 0x02014b50;
const LOCAL_FILE_HEADER = 0x04034b50;

/**
 * The entries of a zip, read from its central directory (stored or deflated entries, no zip64:
 * what `serverless package` writes for artifacts this size).
 */
export async function readZip(file: string): Promise<ZipEntry[]> {
  const zip = await readFile(file);
  // The end record is the last 22 bytes, unless a comment (at most 65,535 bytes) follows it.
  let end = -1;
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 0xffff); at--) {
    if (zip.readUInt32LE(at) === END_OF_CENTRAL_DIRECTORY) {
      end = at;
      break;
    }
  }
  if (end < 0) throw new Error(`${file}: not a zip (no end of central directory)`);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== CENTRAL_FILE_HEADER) throw new Error(`${file}: damaged central directory`);
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    entries.push({
      name,
      compressedSize,
      size,
      data() {
        if (zip.readUInt32LE(local) !== LOCAL_FILE_HEADER) throw new Error(`${file}: damaged entry ${name}`);
        const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
        const stored = zip.subarray(start, start + compressedSize);
        if (method === 0) return Buffer.from(stored);
        if (method === 8) return inflateRawSync(stored);
        throw new Error(`${file}: ${name} uses compression method ${method}`);
      },
    });
  }
  return entries;
}

/** Extracts every file of a zip under `dir`, as Lambda does under /var/task. */
export async function extractZip(file: string, dir: string): Promise<void> {
  const root = resolve(dir);
  for (const entry of await readZip(file)) {
    if (entry.name.endsWith('/')) continue;
    const target = resolve(root, entry.name);
    if (!target.startsWith(root + sep)) throw new Error(`${file}: ${entry.name} points outside the folder`);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, entry.data());
  }
}
