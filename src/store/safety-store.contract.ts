/**
 * Reports, bans and skip counts, as every PairingStore keeps them (part of the contract suite: pairing-store.contract.ts
 * runs this for each implementation).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Ban, PairingStore, ReportInput, ReportRules } from './pairing-store.js';
import { DEFAULT_REPORT_RULES } from './pairing-store.js';

export type ReportStoreFactory = (options: { reports: ReportRules }) => Promise<PairingStore>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function describeSafetyContract(makeStore: ReportStoreFactory): void {
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

    it('forgets reports older than retentionMs', async () => {
      await open({ retentionMs: 300 });
      const first = await pairOf('r', 'x');
      await store.fileReport(first.a, spam(first.room, { details: 'old' }));
      await sleep(400);
      const second = await pairOf('r', 'x');
      await store.fileReport(second.a, spam(second.room, { details: 'new' }));
      expect((await store.reports({ limit: 10 })).map((r) => r.details)).toEqual(['new']);
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

  describe('bans', () => {
    let store: PairingStore;
    let n = 0;
    const subject = (label: string) => `${label}-${process.pid}-${++n}-${Math.random().toString(36).slice(2)}`;
    afterEach(async () => {
      await store?.close();
    });
    const banOf = (who: string, ms: number): Ban => ({
      subject: who,
      reason: 'spam bot',
      by: 'operator',
      at: Date.now(),
      until: Date.now() + ms,
    });

    it('keeps a ban for every instance to read, by subject and by session, until it is lifted', async () => {
      store = await makeStore({ reports: DEFAULT_REPORT_RULES });
      const [banned, other] = [subject('banned'), subject('other')];
      const session = subject('session');
      await store.attach(session, { resume: false, subject: banned });
      const heard: Ban[] = [];
      const stop = store.watchBans((ban) => heard.push(ban));
      // A pub/sub subscription is made asynchronously: wait until a ban is heard.
      const ban = banOf(banned, 60_000);
      await vi.waitFor(
        async () => {
          await store.ban(ban);
          expect(heard.length).toBeGreaterThan(0);
        },
        { timeout: 3000, interval: 50 },
      );
      stop();
      expect(heard[0]).toEqual(ban);
      expect(await store.banOf(banned)).toEqual(ban);
      expect(await store.banOf(other)).toBeNull();
      expect(await store.banOfSession(session)).toEqual(ban);
      expect(await store.banOfSession(subject('unknown'))).toBeNull();
      expect((await store.bans()).filter((b) => b.subject === banned)).toEqual([ban]);
      expect(await store.unban(banned)).toBe(true);
      expect(await store.unban(banned)).toBe(false);
      expect(await store.banOf(banned)).toBeNull();
      expect(await store.banOfSession(session)).toBeNull();
      expect((await store.bans()).filter((b) => b.subject === banned)).toEqual([]);
    });

    it('forgets a ban when it ends', async () => {
      store = await makeStore({ reports: DEFAULT_REPORT_RULES });
      const banned = subject('banned');
      await store.ban(banOf(banned, 150));
      expect(await store.banOf(banned)).not.toBeNull();
      await sleep(300);
      expect(await store.banOf(banned)).toBeNull();
      expect((await store.bans()).filter((b) => b.subject === banned)).toEqual([]);
    });

    it("counts a subject's skips in fixed windows, over all its sessions", async () => {
      store = await makeStore({ reports: DEFAULT_REPORT_RULES });
      const [a, b] = [subject('a'), subject('b')];
      const [a1, a2, b1, none] = [subject('a1'), subject('a2'), subject('b1'), subject('none')];
      await store.attach(a1, { resume: false, subject: a });
      await store.attach(a2, { resume: false, subject: a });
      await store.attach(b1, { resume: false, subject: b });
      await store.attach(none, { resume: false });
      // Start right after a window begins, so the counts below fall into one.
      const windowMs = 400;
      await sleep(windowMs - (Date.now() % windowMs) + 5);
      expect(await store.countSkip(a1, windowMs)).toEqual({ subject: a, count: 1 });
      expect(await store.countSkip(a2, windowMs)).toEqual({ subject: a, count: 2 });
      expect(await store.countSkip(b1, windowMs)).toEqual({ subject: b, count: 1 });
      expect(await store.countSkip(a1, windowMs)).toEqual({ subject: a, count: 3 });
      expect(await store.countSkip(none, windowMs)).toBeNull();
      await sleep(windowMs);
      expect(await store.countSkip(a2, windowMs)).toEqual({ subject: a, count: 1 });
    });
  });
}
