/**
 * The server side of the matchmaking scenario: a pairwire server (createApp, the same as `npm
 * start`) whose waiting population is put straight into its store, in-process: 10,000 socket.io
 * connections do not fit this machine beside everything else (2 shared cores, 20,000 open files).
 * Each waiting client is `attach`ed and `enqueue`d exactly as a connection's join would be, with
 * its own language so the waiting never pair among themselves (population.ts). Then it prints
 * `READY {json}` and serves the joiners until SIGTERM.
 * Usage: node server.js '{"mode":"fifo"|"interests","population":10000,"tags":1000,"seed":1}'
 * (REDIS_URL in the environment for the Redis store).
 */
import { pino } from 'pino';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { MatchPreferences } from '../../src/store/pairing-store.js';
import { interestsOf, ownLanguage, seededRandom, zipfSampler } from './population.js';

export interface MatchServerJob {
  mode: 'fifo' | 'interests';
  population: number;
  tags: number;
  seed: number;
}

export interface MatchServerReady {
  port: number;
  populateSeconds: number;
  /** After a full GC, before and after the population was queued. */
  heapBytes: { before: number; after: number };
  rssBytes: { before: number; after: number };
}

const job = JSON.parse(process.argv[2] ?? '{}') as MatchServerJob;
const config = loadConfig({
  ...process.env,
  LOG_LEVEL: 'silent',
  // The population is attached by no connection: its leases must outlast the run unrenewed.
  RESUME_GRACE_MS: '600000',
  MAX_CONNECTIONS_PER_IP: '1000000',
  CONNECTIONS_PER_MINUTE_PER_IP: '1000000',
});
const app = createApp(config, { logger: pino({ level: 'silent' }) });
const { port } = await app.listen(0, '127.0.0.1');
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});

const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});
collect();
const before = process.memoryUsage();
const started = performance.now();
const random = seededRandom(job.seed);
const draw = zipfSampler(job.tags, 1, random);
const WINDOW = 64;
for (let from = 0; from < job.population; from += WINDOW) {
  const batch: Promise<unknown>[] = [];
  for (let i = from; i < Math.min(job.population, from + WINDOW); i++) {
    const preferences: MatchPreferences = {
      interests: job.mode === 'interests' ? interestsOf(draw, random) : [],
      fallbackMs: null,
      lang: ownLanguage(i),
    };
    const session = `waiting-${i}`;
    batch.push(app.store.attach(session, { resume: false }).then(() => app.store.enqueue(session, preferences)));
  }
  await Promise.all(batch);
}
const populateSeconds = (performance.now() - started) / 1000;
collect();
const after = process.memoryUsage();
const ready: MatchServerReady = {
  port,
  populateSeconds,
  heapBytes: { before: before.heapUsed, after: after.heapUsed },
  rssBytes: { before: before.rss, after: after.rss },
};
console.log(`READY ${JSON.stringify(ready)}`);
