import { BROWSER_WORKER_SOURCE, NODE_WORKER_SOURCE } from './solver-source.js';

/**
 * Finds the nonce that answers a bot gate challenge (docs/protocol.md, "Bot gate"). The SDK's
 * default runs the work off the caller's thread; pass your own (`solveProof` option) to solve
 * elsewhere, say in a page whose Content-Security-Policy allows no `blob:` worker.
 */
export type SolveProof = (challenge: string) => Promise<string>;

interface WorkerAnswer {
  nonce?: string;
  error?: string;
}

/**
 * The solver for where this runs: a Web Worker made from a Blob URL in a browser, a worker thread
 * in Node. Chosen at call time, and Node's module is imported by a name the bundler cannot follow,
 * so the browser bundle carries no Node-only code.
 */
export const solveProof: SolveProof = (challenge) =>
  typeof Worker === 'function' && typeof Blob === 'function' && typeof URL.createObjectURL === 'function'
    ? solveInWebWorker(challenge)
    : solveInWorkerThread(challenge);

function solveInWebWorker(challenge: string): Promise<string> {
  const url = URL.createObjectURL(new Blob([BROWSER_WORKER_SOURCE], { type: 'text/javascript' }));
  const worker = new Worker(url);
  return new Promise<string>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<WorkerAnswer>) => settle(event.data, resolve, reject);
    worker.onerror = (event) => reject(new Error(`proof-of-work worker failed: ${event.message}`));
    worker.postMessage({ challenge });
  }).finally(() => {
    worker.terminate();
    URL.revokeObjectURL(url);
  });
}

/** `node:worker_threads`, named through a variable: bundlers leave such an import alone. */
const WORKER_THREADS = 'node:worker_threads';

async function solveInWorkerThread(challenge: string): Promise<string> {
  const { Worker: Thread } = (await import(WORKER_THREADS)) as typeof import('node:worker_threads');
  const worker = new Thread(NODE_WORKER_SOURCE, { eval: true });
  // A solve in flight never keeps a process alive that has nothing else to do.
  worker.unref();
  return new Promise<string>((resolve, reject) => {
    worker.once('message', (answer: WorkerAnswer) => settle(answer, resolve, reject));
    worker.once('error', reject);
    worker.postMessage({ challenge });
  }).finally(() => void worker.terminate());
}

function settle(answer: WorkerAnswer, resolve: (nonce: string) => void, reject: (error: Error) => void): void {
  if (typeof answer?.nonce === 'string') resolve(answer.nonce);
  else reject(new Error(`proof-of-work failed: ${answer?.error ?? 'no answer'}`));
}
