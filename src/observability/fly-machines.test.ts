import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApp, type PairwireApp } from '../app.js';
import { configWith } from '../config.js';
import { type FlyMachineWatch, type ResolveAddresses, watchFlyMachines } from './fly-machines.js';

const ON_FLY = { FLY_APP_NAME: 'pairwire', FLY_MACHINE_ID: '148e21ea7e5d89' };
const ONE = ['fdaa:0:18:a7b:7d:f066:b83b:2'];
const TWO = [...ONE, 'fdaa:0:18:a7b:7d:1d2e:3f4a:2'];

/** A logger whose lines the test reads back. */
function recordingLogger() {
  const lines: { level: number; msg: string; machines?: number }[] = [];
  const logger = pino({ level: 'trace' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines, errors: () => lines.filter((line) => line.level >= 50) };
}

/** A resolver whose answers the test hands out, recording the names asked for. */
function scriptedResolver(...answers: (string[] | Error | 'never')[]) {
  const asked: string[] = [];
  const resolve: ResolveAddresses = (hostname) => {
    asked.push(hostname);
    const answer = answers.length > 1 ? answers.shift() : answers[0];
    if (answer === 'never') return new Promise(() => {});
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer ?? []);
  };
  return { resolve, asked };
}

describe('Fly.io machine count on the memory store', () => {
  let watch: FlyMachineWatch | undefined;
  let app: PairwireApp | undefined;
  afterEach(async () => {
    watch?.stop();
    await app?.close();
    watch = app = undefined;
  });

  it('says loudly, naming the fix, while a second machine of the app is running', async () => {
    const { logger, errors, lines } = recordingLogger();
    const dns = scriptedResolver(ONE, TWO, TWO, ONE);
    watch = watchFlyMachines({ env: ON_FLY, logger, resolve: dns.resolve, intervalMs: 20 });
    await vi.waitFor(() =>
      expect(lines.some((line) => line.msg.startsWith('one Fly machine of this app runs again'))).toBe(true),
    );
    expect(dns.asked[0]).toBe('pairwire.internal');
    expect(errors()).toHaveLength(2);
    expect(errors()[0]).toMatchObject({ machines: 2 });
    expect(errors()[0]?.msg).toMatch(/never paired.*fly scale count 1.*--ha=false.*REDIS_URL/);
  });

  it('stays quiet on one machine, when DNS fails or never answers, and off Fly.io', async () => {
    const { logger, errors } = recordingLogger();
    for (const answer of [ONE, new Error('ENOTFOUND'), 'never' as const]) {
      const dns = scriptedResolver(answer);
      watch = watchFlyMachines({ env: ON_FLY, logger, resolve: dns.resolve, intervalMs: 20, timeoutMs: 10 });
      await vi.waitFor(() => expect(dns.asked.length).toBeGreaterThanOrEqual(3));
      watch.stop();
    }
    const offFly = scriptedResolver(TWO);
    watch = watchFlyMachines({ env: {}, logger, resolve: offFly.resolve, intervalMs: 5 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(offFly.asked).toEqual([]);
    expect(errors()).toEqual([]);
  });

  it('a memory-store server starts and serves at once while DNS never answers, and warns when it does', async () => {
    const { logger, errors } = recordingLogger();
    app = createApp(configWith({ logLevel: 'silent' }), {
      logger,
      env: ON_FLY,
      resolveAddresses: () => new Promise(() => {}),
    });
    const { port } = await app.listen(0, '127.0.0.1');
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    await app.close();

    const dns = scriptedResolver(TWO);
    app = createApp(configWith({ logLevel: 'silent' }), { logger, env: ON_FLY, resolveAddresses: dns.resolve });
    await app.listen(0, '127.0.0.1');
    await vi.waitFor(() => expect(errors()).toHaveLength(1));
  });
});
