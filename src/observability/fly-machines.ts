import { Resolver } from 'node:dns/promises';
import type { Logger } from 'pino';

/** An AAAA lookup: the addresses a name resolves to. */
export type ResolveAddresses = (hostname: string) => Promise<string[]>;

export interface FlyMachineWatchOptions {
  /** The machine's environment: Fly.io sets FLY_APP_NAME and FLY_MACHINE_ID on every machine. */
  env: Record<string, string | undefined>;
  logger: Logger;
  /** Default: the system resolver, which on a Fly machine answers `.internal` names. */
  resolve?: ResolveAddresses;
  /** How often to count again: a second machine may start long after this one. */
  intervalMs?: number;
  /** A lookup that takes longer is abandoned until the next round. */
  timeoutMs?: number;
}

export interface FlyMachineWatch {
  stop(): void;
}

const EVERY_MINUTE = 60_000;
const LOOKUP_TIMEOUT_MS = 2_000;

/**
 * On Fly.io, warns loudly while more than one machine of this app runs: on the in-memory store
 * each machine keeps its own queue, so users who land on different machines are never paired
 * (Fly's first `fly deploy` creates two machines unless told `--ha=false`).
 *
 * The count is the AAAA record of `<app>.internal`, which Fly's internal DNS answers with the
 * private address of every started machine of the app. It runs in the background: start-up never
 * waits for DNS, and a lookup that fails or hangs is only retried at the next round. Off Fly.io
 * (no FLY_APP_NAME) it does nothing.
 */
export function watchFlyMachines(options: FlyMachineWatchOptions): FlyMachineWatch {
  const app = options.env.FLY_APP_NAME;
  if (!app) return { stop() {} };
  const { logger } = options;
  const timeoutMs = options.timeoutMs ?? LOOKUP_TIMEOUT_MS;
  const resolve = options.resolve ?? systemResolver(timeoutMs);
  const hostname = `${app}.internal`;
  let stopped = false;
  let warned = false;

  const count = async () => {
    let machines: number;
    try {
      machines = new Set(await withTimeout(resolve(hostname), timeoutMs)).size;
    } catch (err) {
      logger.debug({ err, hostname }, "could not count this app's Fly machines");
      return;
    }
    if (stopped) return;
    if (machines > 1) {
      warned = true;
      logger.error(
        { machines, app, machine: options.env.FLY_MACHINE_ID },
        `${machines} Fly machines of this app run the in-memory store: each has its own queue, and users on different machines are never paired. Run one machine (fly scale count 1; deploy with --ha=false) or set REDIS_URL (docs/scaling.md)`,
      );
    } else if (warned) {
      warned = false;
      logger.info({ machines, app }, 'one Fly machine of this app runs again: every user shares its queue');
    }
  };

  void count();
  const timer = setInterval(() => void count(), options.intervalMs ?? EVERY_MINUTE);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

function systemResolver(timeoutMs: number): ResolveAddresses {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  return (hostname) => resolver.resolve6(hostname);
}

/** Rejects after `ms` if `promise` has not settled; the timer never holds the process open. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}
