/**
 * Reports, as every PairingStore keeps them (part of the contract suite: pairing-store.contract.ts
 * runs this for each implementation).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PairingStore, ReportInput, ReportRules } from './pairing-store.js';
import { DEFAULT_REPORT_RULES } from './pairing-store.js';

export type ReportStoreFactory = (options: { reports: ReportRules }) => Promise<PairingStore>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function describeReportContract(makeStore: ReportStoreFactory): void {
  describe('reports', () => {
    let store: PairingStore;
    let n = 0;
    const id = (label: string) => `${label}-${process.pid}-${++n}-${Math.random().toString(36).slice(2)}`;
    afterEach(async () => {
      await store?.close();
    });

    const open = async (rules: Partial<ReportRules> = {}) => {
      store = await makeStore({ reports: { ...DEFAULT_REPORT_RULES, ...rules } });
    };
    /** A live session behind `subject`. */
    const join = async (subject: string) => {
      const session = id(subject);
      await store.attach(session, { resume: false, subject });
      return session;
    };
    /** Pairs two fresh sessions; returns them and their room. */
    const pairOf = async (first: string, second: string) => {
      const a = await join(first);
      const b = await join(second);
      await store.enqueue(a);
      const paired = await store.enqueue(b);
      if (paired.status !== 'paired') throw new Error(`not paired: ${paired.status}`);
      return { a, b, room: paired.pair.id };
    };
    const spam = (room: string, more: Partial<ReportInput> = {}): ReportInput => ({
      room,
      reason: 'spam',
      details: null,
      evidence: null,
      ...more,
    });

    it('files a report of the current partner: the pair ends, the partner is told "next" and never met again', async () => {
      await open();
      const { a, b, room } = await pairOf('subject-a', 'subject-b');
      const evidence = [{ from: 'partner' as const, text: 'buy now', at: 1 }];
      const result = await store.fileReport(a, spam(room, { details: 'ads', evidence }));
      expect(result).toMatchObject({
        status: 'filed',
        partner: b,
        report: { room, reason: 'spam', details: 'ads', evidence, reporter: 'subject-a', reported: 'subject-b' },
      });
      if (result.status !== 'filed') return;
      expect(result.ended?.pair.id).toBe(room);
      expect(result.ended?.events.map((e) => [e.to, e.event])).toEqual([
        [b, { name: 'partner-left', room, reason: 'next' }],
      ]);
      expect(await store.pairOf(a)).toBeNull();
      expect(await store.pairOf(b)).toBeNull();
      expect(await store.reports({ limit: 10 })).toEqual([result.report]);
      expect(result.report.at).toBeGreaterThan(Date.now() - 60_000);
      // Blocked: neither is ever paired with the other again.
      expect(await store.enqueue(b)).toMatchObject({ status: 'waiting' });
      expect(await store.enqueue(a)).toMatchObject({ status: 'waiting' });
    });

    it('files a report of a pair that ended within the window, once per reporter and room', async () => {
      await open();
      const { a, b, room } = await pairOf('sa', 'sb');
      await store.unpair(b, 'next');
      const filed = await store.fileReport(a, spam(room));
      expect(filed).toMatchObject({ status: 'filed', partner: b, ended: null, report: { reported: 'sb' } });
      expect(await store.fileReport(a, spam(room, { reason: 'other' }))).toEqual({ status: 'already-reported' });
      // The other side may report the same room too.
      expect(await store.fileReport(b, spam(room))).toMatchObject({ status: 'filed', report: { reported: 'sa' } });
      expect(await store.reports({ limit: 10 })).toHaveLength(2);
    });

    it('refuses a room the reporter was never in, and one that ended longer ago than the window', async () => {
      await open({ windowMs: 150 });
      const { a, b, room } = await pairOf('sa', 'sb');
      const other = await pairOf('sc', 'sd');
      expect(await store.fileReport(a, spam(other.room))).toEqual({ status: 'not-in-room' });
      expect(await store.fileReport(a, spam('never-a-room'))).toEqual({ status: 'not-in-room' });
      expect(await store.fileReport(id('unknown'), spam(room))).toEqual({ status: 'not-in-room' });
      await store.unpair(a, 'leave');
      await sleep(300);
      expect(await store.fileReport(b, spam(room))).toEqual({ status: 'not-in-room' });
      expect(await store.reports({ limit: 10 })).toEqual([]);
    });

    it('lists reports newest first, filtered by reason and time, at most `limit`', async () => {
      await open();
      const reasons = ['spam', 'harassment', 'spam'] as const;
      const filed = [];
      for (const reason of reasons) {
        const { a, room } = await pairOf('r', 'x');
        const result = await store.fileReport(a, spam(room, { reason }));
        if (result.status === 'filed') filed.push(result.report);
        await sleep(5);
      }
      const [first, second, third] = filed;
      expect(await store.reports({ limit: 10 })).toEqual([third, second, first]);
      expect(await store.reports({ limit: 2 })).toEqual([third, second]);
      expect(await store.reports({ limit: 10, reason: 'spam' })).toEqual([third, first]);
      expect(await store.reports({ limit: 10, reason: 'minor-safety' })).toEqual([]);
      expect(await store.reports({ limit: 10, since: second?.at ?? 0 })).toEqual([third, second]);
      expect(await store.reports({ limit: 10, until: second?.at ?? 0 })).toEqual([second, first]);
    });

    it('keeps at most maxReports, the newest', async () => {
      await open({ maxReports: 2 });
      for (let i = 0; i < 3; i++) {
        const { a, room } = await pairOf('r', 'x');
        await store.fileReport(a, spam(room, { details: `#${i}` }));
      }
      // Redis trims a stream approximately (MAXLEN ~): at least the newest two are there, in order.
      const kept = await store.reports({ limit: 2 });
      expect(kept.map((r) => r.details)).toEqual(['#2', '#1']);
    });

    it('counts the distinct reporters of a subject within the window', async () => {
      await open();
      const counts = [];
      for (const reporter of ['r1', 'r2', 'r1', 'r3']) {
        const { a, room } = await pairOf(reporter, 'target');
        const result = await store.fileReport(a, spam(room));
        counts.push(result.status === 'filed' ? result.reporters : -1);
      }
      expect(counts).toEqual([1, 2, 2, 3]);
    });
  });
}
