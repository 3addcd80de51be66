import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { Redis } from 'ioredis';
import { parseRedisInfo } from '../../bench/lib/redis-info.js';

/** A free TCP port on 127.0.0.1, as the OS hands it out. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  port: number;
  url: string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** Starts it again on the same port (after `stop`), e.g. to end a simulated outage. */
  start(): Promise<void>;
}

/**
 * A real redis-server of our own on a free port, nothing kept on disk. Never a mock: the Redis
 * store's Lua scripts, TTLs and streams must meet the real thing.
 */
export async function startRedis(): Promise<RedisServer> {
  let port = await freePort();
  let child: ChildProcess | undefined;

  const start = async () => {
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    await waitForReady(proc, port);
  };

  // A free port is free when asked, not when bound: another test file's server may take it first.
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      break;
    } catch (error) {
      if (attempt >= 3) throw error;
      port = await freePort();
    }
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      const proc = child;
      child = undefined;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
    start,
  };
}

/** Resolves once the server answers PING on its port (stdout is quiet at loglevel warning). */
async function waitForReady(proc: ChildProcess, port: number, timeoutMs = 10_000): Promise<void> {
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited (${proc.exitCode}): ${stderr}`);
    // Ours, not a server of another test that got the port first (ours then exits).
    if (await servedBy(port, proc.pid)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  proc.kill('SIGKILL');
  throw new Error(`redis-server on ${port} not ready within ${timeoutMs} ms: ${stderr}`);
}

/** Whether the Redis answering on `port` is the process `pid` (INFO server names its process_id). */
function servedBy(port: number, pid: number | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    import('node:net').then(({ connect }) => {
      const socket = connect(port, '127.0.0.1');
      let reply = '';
      const done = (answer: boolean) => {
        socket.destroy();
        resolve(answer);
      };
      socket.setTimeout(500);
      socket.once('connect', () => socket.write('INFO server\r\n'));
      socket.on('data', (d) => {
        reply += d.toString();
        const match = /process_id:(\d+)/.exec(reply);
        if (match) done(Number(match[1]) === pid);
        else if (reply.startsWith('-')) done(false);
      });
      socket.once('error', () => done(false));
      socket.once('timeout', () => done(false));
    });
  });
}

/** How often redis-server has run `command` since it started (`INFO commandstats`; a script's own commands count under their names). */
export async function commandCalls(redis: Redis, command: string): Promise<number> {
  return parseRedisInfo(String(await redis.info('commandstats'))).calls[command] ?? 0;
}
