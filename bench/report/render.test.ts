import { describe, expect, it } from 'vitest';
import type { RelayPhaseResult, ScaleOutResult } from '../load/job.js';
import type { TargetId } from '../targets.js';
import { type BenchReport, renderMarkdown, scaleOutRatios, type TargetRun } from './render.js';

const latency = { count: 1, p50: 1, p90: 2, p99: 3, max: 4 };

/** A scale-out phase that relayed `signals` with these CPU seconds and Redis counters. */
function phase(
  signals: number,
  cpu: { server: number; redis: number },
  redis: { read: number; written: number; calls: Record<string, number> },
): RelayPhaseResult {
  return {
    offeredRate: 200,
    handshakesStarted: signals / 18,
    handshakesCompleted: signals / 18,
    achievedRate: 200,
    messagesSent: signals,
    messagesReceived: signals,
    lost: 0,
    misrouted: 0,
    outOfOrder: 0,
    oneWayMs: latency,
    handshakeMs: latency,
    cpu: {
      serverCpuSeconds: cpu.server,
      auxCpuSeconds: cpu.redis,
      generatorCpuSeconds: 1,
      foreignCpuSeconds: 0,
      wallSeconds: 10,
    },
    redis: { netOutputBytes: redis.read, netInputBytes: redis.written, calls: redis.calls },
  };
}

function run(target: TargetId, label: string, instances: number, p: RelayPhaseResult): TargetRun {
  const scaleOut: ScaleOutResult = { kind: 'scale-out', instances, couples: 500, phase: p };
  return { target, label, bursts: [], errors: [], scaleOut };
}

function report(runs: TargetRun[]): BenchReport {
  return {
    command: 'npm run bench',
    mode: 'full',
    machine: {
      cores: 2,
      cpuModel: 'test',
      node: 'v20',
      date: '2026-12-01T00:00:00.000Z',
      loadAverage: [0, 0, 0],
      pinning: { serverCore: 0, loadCore: 1 },
      revision: 'abc1234',
    },
    runs,
  };
}

// 36,000 signals each: 1 instance 2.16 s of CPU (60 µs a signal), 2 instances 3.6 s (100 µs),
// 4 instances 4.32 s (120 µs, 1.2× two); bytes read 300 → 600 → 900 per signal (1.5× two).
const oneInstance = run(
  'pairwire-redis',
  'pairwire (Redis)',
  1,
  phase(
    36_000,
    { server: 1.44, redis: 0.72 },
    { read: 36_000 * 300, written: 36_000 * 700, calls: { evalsha: 36_000 } },
  ),
);
const twoInstances = run(
  'pairwire-redis-2x',
  'pairwire ×2 on one Redis',
  2,
  phase(
    36_000,
    { server: 2.52, redis: 1.08 },
    { read: 36_000 * 600, written: 36_000 * 800, calls: { evalsha: 36_000, xadd: 36_000, xread: 3600 } },
  ),
);
const fourInstances = run(
  'pairwire-redis-4x',
  'pairwire ×4 on one Redis',
  4,
  phase(
    36_000,
    { server: 3.24, redis: 1.08 },
    { read: 36_000 * 900, written: 36_000 * 800, calls: { evalsha: 36_000, xadd: 36_000, xread: 7200, get: 36 } },
  ),
);

describe('the scale-out cost model', () => {
  it('compares four instances with two: CPU of every process, and bytes read from Redis', () => {
    const ratios = scaleOutRatios(report([oneInstance, twoInstances, fourInstances]));
    expect(ratios.cpu2).toBeCloseTo(100);
    expect(ratios.cpu4).toBeCloseTo(120);
    expect(ratios.cpu).toBeCloseTo(1.2);
    expect(ratios.read2).toBeCloseTo(600);
    expect(ratios.read).toBeCloseTo(1.5);
  });

  it('renders one row per set-up, the targets verdicts, and Redis calls per signal', () => {
    const markdown = renderMarkdown(report([oneInstance, twoInstances, fourInstances]), '## Findings');
    const section = markdown.slice(markdown.indexOf('## Scale-out as a cost model'));
    const row = (label: string) => section.split('\n').find((line) => line.startsWith(`| ${label}`)) ?? '';
    // total CPU per signal, vs 2 instances, bytes read per signal, vs 2 instances
    expect(row('pairwire (Redis) (1)')).toContain('| 60.0 | 0.60× | 300 | 0.50× | 700 | 0.88× |');
    expect(row('pairwire ×2 on one Redis (2)')).toContain('| 100.0 | 1.00× | 600 | 1.00× | 800 | 1.00× |');
    expect(row('pairwire ×4 on one Redis (4)')).toContain('| 120.0 | 1.20× | 900 | 1.50× | 800 | 1.00× |');
    expect(markdown).toMatch(/\| scale-out: CPU per signal[^\n]*\| 1\.20× \(120\.0 vs 100\.0 µs\) \| \*\*met\*\* \|/);
    expect(markdown).toMatch(
      /\| scale-out: bytes read from Redis per signal[^\n]*\| 1\.50× \(900 vs 600 B\) \| \*\*missed\*\* \|/,
    );
    // Calls per signal, most frequent at four instances first; under 0.005 per signal left out.
    expect(section).toContain('| `xread` | 0.000 | 0.100 | 0.200 |');
    expect(section.indexOf('`evalsha`')).toBeLessThan(section.indexOf('`xread`'));
    expect(section).not.toContain('`get`');
  });

  it('says when it did not run, and leaves the targets unmeasured', () => {
    const markdown = renderMarkdown(report([oneInstance]), '');
    expect(markdown).toContain(
      '| scale-out: CPU per signal, every instance and redis-server | 4 instances ≤ 1.25× 2 instances | – (– vs – µs) | not measured |',
    );
    expect(renderMarkdown(report([]), '')).toContain('Not run (the Redis set-ups run it');
  });
});
