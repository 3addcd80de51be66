import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SignalingObserver } from '../core/observer.js';
import type { SignalType } from '../protocol/messages.js';

export interface MetricSources {
  /** Clients connected to this instance. */
  connected(): number;
  /** Clients of this instance that are in a pair. */
  pairedHere(): number;
  /** Clients waiting in the (shared) queue. */
  waiting(): Promise<number>;
}

export interface Metrics {
  readonly registry: Registry;
  readonly observer: SignalingObserver;
  /** Seconds from entering the queue to being paired, observed on the waiting client's instance. */
  observeWait(seconds: number): void;
}

const SIGNAL_TYPES: SignalType[] = ['offer', 'answer', 'candidate', 'end-of-candidates'];

/** Prometheus metrics on a registry of their own (one per app, so tests can run many apps). */
export function createMetrics(sources: MetricSources): Metrics {
  const registry = new Registry();
  const prefix = 'pairwire_';
  new Gauge({
    name: `${prefix}connected_clients`,
    help: 'Clients connected to this instance.',
    registers: [registry],
    collect() {
      this.set(sources.connected());
    },
  });
  new Gauge({
    name: `${prefix}active_pairs`,
    help: 'Pairs with a member on this instance, counted half per member: sums to the pair count across instances.',
    registers: [registry],
    collect() {
      this.set(sources.pairedHere() / 2);
    },
  });
  new Gauge({
    name: `${prefix}waiting_clients`,
    help: 'Clients waiting for a partner (shared queue: the same on every instance).',
    registers: [registry],
    async collect() {
      this.set(await sources.waiting().catch(() => Number.NaN));
    },
  });
  const pairs = new Counter({
    name: `${prefix}pairs_total`,
    help: 'Pairs made by this instance.',
    registers: [registry],
  });
  const ended = new Counter({
    name: `${prefix}pairs_ended_total`,
    help: 'Pairs ended by this instance, by reason.',
    labelNames: ['reason'],
    registers: [registry],
  });
  // The relay path adds to a plain number per type; the counter reads them when scraped.
  // (prom-client's own inc, through a labelled child too, hashes the labels on every call.)
  const relayedCounts = new Map<SignalType, number>(SIGNAL_TYPES.map((type) => [type, 0]));
  new Counter({
    name: `${prefix}signals_relayed_total`,
    help: 'Signals relayed to a partner, by type.',
    labelNames: ['type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [type, count] of relayedCounts) this.inc({ type }, count);
    },
  });
  const errors = new Counter({
    name: `${prefix}errors_total`,
    help: 'Commands refused, by error code.',
    labelNames: ['code'],
    registers: [registry],
  });
  const wait = new Histogram({
    name: `${prefix}join_to_paired_seconds`,
    help: 'Time from entering the queue to being paired.',
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [registry],
  });

  return {
    registry,
    observeWait: (seconds) => wait.observe(seconds),
    observer: {
      paired: () => pairs.inc(),
      pairEnded: (_pair, reason) => ended.inc({ reason }),
      relayed: (type) => relayedCounts.set(type, (relayedCounts.get(type) ?? 0) + 1),
      refused: (_command, code) => errors.inc({ code }),
    },
  };
}
