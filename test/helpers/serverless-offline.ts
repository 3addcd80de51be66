/**
 * A real `serverless offline` (Serverless Framework 3 + serverless-offline) serving the Lambda
 * bundles that ship (dist/lambda, the esbuild output of `npm run build`, which `npm test` runs
 * first; serverless.yml names them) on free ports, against a real Redis. Started in its own process
 * group and stopped by its PID.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { freePort } from './redis.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVERLESS_BIN = fileURLToPath(new URL('../../node_modules/serverless/bin/serverless.js', import.meta.url));

export interface ServerlessOffline {
  /** ws://127.0.0.1:<port>: the WebSocket API. */
  wsUrl: string;
  /** http://127.0.0.1:<port>: the HTTP API (/healthz, /readyz, /ice-servers). */
  httpUrl: string;
  /** The management API (PostToConnection), served by the WebSocket server. */
  managementUrl: string;
  /**
   * Invokes a function of serverless.yml by its key (`sweep`) through serverless offline's Lambda
   * Invoke API, as a schedule would, and resolves when it returns.
   */
  invoke(name: string, event?: object): Promise<void>;
  child: ChildProcess;
  /** Everything it wrote so far (Lambda logs included). */
  output(): string;
  stop(): Promise<void>;
}

export async function startServerlessOffline(
  env: Record<string, string>,
  startTimeoutMs = 45_000,
): Promise<ServerlessOffline> {
  // A free port is free when asked, not when bound: a process started meanwhile (another test
  // file's servers) can take it first. Then start over on new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnFreePorts(env, startTimeoutMs);
    } catch (error) {
      if (attempt >= 3 || !(error instanceof PortTakenError)) throw error;
    }
  }
}

class PortTakenError extends Error {}

async function startOnFreePorts(env: Record<string, string>, startTimeoutMs: number): Promise<ServerlessOffline> {
  const [httpPort, wsPort, lambdaPort] = [await freePort(), await freePort(), await freePort()];
  const managementUrl = `http://127.0.0.1:${wsPort}`;
  const child = spawn(
    process.execPath,
    [
      SERVERLESS_BIN,
      'offline',
      '--httpPort',
      String(httpPort),
      '--websocketPort',
      String(wsPort),
      '--lambdaPort',
      String(lambdaPort),
    ],
    {
      cwd: ROOT,
      // Its own process group: stop() takes down whatever it started with it.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_REGION: 'us-east-1',
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
        LOG_LEVEL: 'info',
        WEBSOCKET_MANAGEMENT_ENDPOINT: managementUrl,
        ...env,
      },
    },
  );
  let output = '';
  const exited = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      kill(child, 'SIGKILL');
      reject(new Error(`serverless offline did not start within ${startTimeoutMs} ms:\n${output}`));
    }, startTimeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('EADDRINUSE')) {
        clearTimeout(timer);
        kill(child, 'SIGKILL');
        reject(new PortTakenError(`a port was taken before serverless offline bound it:\n${output}`));
      } else if (output.includes('Server ready:') && output.includes('[http for websocket] listening on')) {
        // Both: the HTTP and WebSocket servers start concurrently, each announcing itself.
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`serverless offline exited before it was ready:\n${output}`));
    });
  });
  try {
    await warmUp(`ws://127.0.0.1:${wsPort}`, startTimeoutMs);
  } catch (error) {
    kill(child, 'SIGKILL');
    throw error;
  }

  return {
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    managementUrl,
    async invoke(name, event = {}) {
      const response = await fetch(
        `http://127.0.0.1:${lambdaPort}/2015-03-31/functions/pairwire-dev-${name}/invocations`,
        { method: 'POST', body: JSON.stringify(event) },
      );
      if (!response.ok) throw new Error(`invoking ${name}: HTTP ${response.status} ${await response.text()}`);
    },
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      kill(child, 'SIGTERM');
      const timer = setTimeout(() => kill(child, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function kill(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * One connection that pings and leaves with a goodbye (a drop would keep its session for the
 * resume grace), so each route's first (cold) invocation, a worker thread loading the handlers,
 * happens here and not inside a test's timeouts on a busy machine.
 */
async function warmUp(url: string, timeoutMs: number): Promise<void> {
  const ws = new WebSocket(url);
  // `once` rejects on 'error' whatever event it waits for; a failed connect is reported by the
  // 'open' wait below, so this one must not surface as an unhandled rejection.
  const closed = once(ws, 'close').catch(() => {});
  const timer = setTimeout(() => ws.terminate(), timeoutMs);
  try {
    await once(ws, 'open');
    const acked = new Promise<void>((resolve) => {
      ws.on('message', (data) => {
        if (String(data).includes('"type":"ack"')) resolve();
      });
    });
    ws.send(JSON.stringify({ action: 'ping', id: 1 }));
    await Promise.race([acked, closed]);
    ws.send(JSON.stringify({ action: 'bye' }));
    ws.close();
    await closed;
  } finally {
    clearTimeout(timer);
  }
}
