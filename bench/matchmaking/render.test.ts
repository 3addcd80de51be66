import { describe, expect, it } from 'vitest';
import { renderMatchmaking } from './render.js';
import type { MatchmakingRun } from './scenario.js';

const run = (store: 'memory' | 'redis', mode: 'fifo' | 'interests', cpu: number, p99: number): MatchmakingRun => ({
  store,
  mode,
  population: 10_000,
  joiners: 1000,
  paired: 1000,
  pairedAtOnce: 1000,
  refused: {},
  latencyMs: { count: 1000, p50: p99 / 2, p90: p99, p99, max: p99 },
  serverCpuUsPerPair: cpu,
  redisCpuUsPerPair: store === 'redis' ? cpu / 2 : 0,
  foreignCpuSeconds: 0,
  burstSeconds: 1,
  populateSeconds: 1,
  heapBytesPerWaiting: 1000,
  redisBytesPerWaiting: store === 'redis' ? 1500 : 0,
});

describe('renderMatchmaking', () => {
  it('compares interests with FIFO per store, against issue 15 targets', () => {
    const markdown = renderMatchmaking({
      size: { population: 10_000, joiners: 1000, tags: 1000, timeoutMs: 60_000 },
      rounds: 3,
      runs: [
        run('memory', 'fifo', 500, 100),
        run('memory', 'interests', 600, 150),
        run('redis', 'fifo', 400, 100),
        { ...run('redis', 'interests', 600, 250), refused: { UNAVAILABLE: 3 } },
      ],
    });
    expect(markdown).toContain('| memory | 1.20× | ≤ 1.3× | met | 1.50× | ≤ 2× | met |');
    expect(markdown).toContain('| redis | 1.50× | ≤ 1.3× | missed | 2.50× | ≤ 2× | missed |');
    expect(markdown).toContain('median of 3 rounds');
    expect(markdown).toContain('refused in the worst round: 3 UNAVAILABLE');
  });
});
