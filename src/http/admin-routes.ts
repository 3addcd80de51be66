import { timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import * as z from 'zod';
import { LiveStatsCache } from '../core/live-stats.js';
import { builtOnce } from '../protocol/built-once.js';
import { REPORT_REASONS } from '../protocol/messages.js';
import { type Ban, MAX_BAN_MS, type PairingStore, type StoredReport } from '../store/pairing-store.js';

/** The most reports one GET /admin/reports returns; the default is 100. */
export const MAX_REPORTS_PAGE = 1000;

/**
 * The schemas of the operator API's input, built on its first request rather than at import
 * (builtOnce): the HTTP Lambda's cold start does not pay for them (docs/deploy.md, "Cold starts").
 */
const adminSchemas = builtOnce(() => {
  /** A time as a query gives it: ms since the epoch, or an ISO 8601 date. */
  const instant = z
    .string()
    .transform((raw) => (/^\d+$/.test(raw) ? Number(raw) : Date.parse(raw)))
    .refine((ms) => Number.isSafeInteger(ms), 'a time is ms since the epoch or an ISO 8601 date');

  const reportsQuery = z.object({
    reason: z.enum(REPORT_REASONS).optional(),
    since: instant.optional(),
    until: instant.optional(),
    limit: z.coerce.number().int().min(1).max(MAX_REPORTS_PAGE).default(100),
  });

  /** Subjects are HMAC-SHA256 digests in hex (safety/subject.ts), as reports and bans show them. */
  const subject = z.string().regex(/^[0-9a-f]{64}$/, 'a subject is 64 lower-case hex digits, as reports show it');

  const banBody = z.strictObject({
    subject,
    reason: z.string().min(1).max(500),
    durationMs: z.number().int().min(1).max(MAX_BAN_MS),
  });
  return { reportsQuery, subject, banBody };
});

/**
 * The operator API (docs/openapi.yaml), only with `Authorization: Bearer <ADMIN_TOKEN>`. Without a
 * configured token the routes do not exist (404, like any unknown path); with a wrong or missing
 * bearer they answer 401 and read nothing.
 *
 * `onBan`, when given, is awaited after each ban is stored and before the answer: where no process
 * holds the subject's connections (API Gateway) it closes them, so that a 201 means they are
 * closed. Elsewhere every instance hears of the ban through the store (watchBans).
 */
export function adminRoutes(
  store: PairingStore,
  token: string | undefined,
  onBan?: (ban: Ban) => Promise<void>,
): Router {
  const router = Router();
  if (!token) return router;
  // The operator sees the counts as they are now: nothing reused.
  const stats = new LiveStatsCache(store, 0);
  const admin = Router();
  admin.use(requireBearer(token));
  admin.use(express.json({ limit: '16kb' }));

  admin.get('/reports', async (req, res) => {
    const query = adminSchemas().reportsQuery.safeParse(req.query);
    if (!query.success) return invalid(res, query.error);
    const reports = await store.reports(withoutUndefined(query.data));
    res.json({ reports: reports.map(showReport) });
  });

  admin.get('/bans', async (_req, res) => {
    res.json({ bans: (await store.bans()).map(showBan) });
  });

  admin.post('/bans', async (req, res) => {
    const body = adminSchemas().banBody.safeParse(req.body);
    if (!body.success) return invalid(res, body.error);
    const at = Date.now();
    const ban: Ban = {
      subject: body.data.subject,
      reason: body.data.reason,
      by: 'operator',
      at,
      until: at + body.data.durationMs,
    };
    await store.ban(ban);
    await onBan?.(ban);
    res.status(201).json({ ban: showBan(ban) });
  });

  admin.delete('/bans/:subject', async (req, res) => {
    const parsed = adminSchemas().subject.safeParse(req.params.subject);
    if (!parsed.success) return invalid(res, parsed.error);
    if (await store.unban(parsed.data)) res.status(204).end();
    else res.status(404).json({ error: { code: 'NOT_FOUND', message: 'that subject has no ban in force' } });
  });

  admin.get('/stats', async (_req, res) => {
    const [counts, bans] = await Promise.all([stats.get(), store.bans()]);
    res.json({ ...counts, bans: bans.length });
  });

  // A malformed JSON body, or the store unreachable: typed answers rather than Express's HTML page.
  admin.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if ((error as { type?: string }).type === 'entity.parse.failed') {
      res.status(400).json({ error: { code: 'INVALID_PAYLOAD', message: 'the body is not JSON' } });
      return;
    }
    res.status(503).json({ error: { code: 'UNAVAILABLE', message: 'the store is unavailable right now' } });
  });

  router.use('/admin', admin);
  return router;
}

/** 401 unless the request carries the bearer token (compared in constant time). */
function requireBearer(token: string) {
  const expected = Buffer.from(`Bearer ${token}`);
  return (req: Request, res: Response, next: NextFunction) => {
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length === expected.length && timingSafeEqual(given, expected)) {
      next();
      return;
    }
    res
      .status(401)
      .set('WWW-Authenticate', 'Bearer')
      .json({ error: { code: 'UNAUTHORIZED', message: 'the operator API needs the bearer token' } });
  };
}

function invalid(res: Response, error: z.ZodError): void {
  const issue = error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
  res.status(400).json({ error: { code: 'INVALID_PAYLOAD', message: `${where}${issue?.message ?? 'invalid'}` } });
}

/** A report as the API shows it: its time also as an ISO date, for people reading curl output. */
function showReport(report: StoredReport) {
  return { ...report, time: new Date(report.at).toISOString() };
}

function showBan(ban: Ban) {
  return { ...ban, expires: new Date(ban.until).toISOString() };
}

/** Zod gives optional fields as undefined; exactOptionalPropertyTypes wants them absent. */
function withoutUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}
