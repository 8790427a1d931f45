/**
 * Incremental, idempotent ingestion of the usage, cost and Claude Code reports (admin-api.md §3.7–3.9).
 *
 * Every fetched page is written as a window: the rows stored for [first bucket start, last bucket end) are
 * replaced by what the page holds (bucket by bucket: the store replaces a window as transactions of whole buckets,
 * see spend-store.ts). Nothing is ever added on top of what is stored, so a re-fetch (the trailing days the API may
 * still revise, a run resumed after a failure, two overlapping runs) counts nothing twice, and a re-run over
 * unchanged data leaves the same rows.
 *
 * After each window the report's cursor (ReportSync) advances to the end of its last complete bucket; the
 * next run starts that far back minus the trailing window the API may still revise (usage 48 h, costs 3 days,
 * Claude Code 2 days) and goes to now. The first run backfills BACKFILL_DAYS. The store also keeps where the
 * ingested range starts, so a caller that needs an older window (the digest for a past day) fetches only the
 * part that is missing (ensureSpendData).
 *
 * Pages are of the maximum size (168 hourly buckets, 31 days, 1,000 Claude Code records), so a backfill makes
 * the fewest requests the API allows. A failure (after the client's retries) stops the run with a
 * SpendSyncError; what was written stays written, and the next run resumes at the cursor.
 */

import { AdminApiError } from '../ports/admin-api.js';
import type {
  ClaudeCodeDayRow,
  CostDayRow,
  ReportBucket,
  ReportName,
  ReportPage,
  UsageHourRow,
} from '../ports/spend.js';
import type { Services } from '../services.js';
import { nextTurn } from '../turn.js';

export type SpendSyncServices = Pick<Services, 'reports' | 'store' | 'clock' | 'logger'>;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Days fetched on the first run. */
export const BACKFILL_DAYS = 35;
/** How far back each run re-fetches, because the API may still revise it. */
export const TRAILING_MS: Record<ReportName, number> = { usage: 48 * HOUR, costs: 3 * DAY, claude_code: 2 * DAY };
/** A sync younger than this (the jobs' intervals) counts as current for ensureSpendData's revisable trail. */
export const FRESH_MS: Record<ReportName, number> = {
  usage: 10 * 60_000,
  costs: 30 * 60_000,
  claude_code: 30 * 60_000,
};
/** The API's maximum page sizes: buckets of 1 h, buckets of 1 d, Claude Code records. */
export const MAX_PAGE: Record<ReportName, number> = { usage: 168, costs: 31, claude_code: 1000 };
export const USAGE_GROUP_BY = ['api_key_id', 'workspace_id', 'model', 'service_tier'] as const;
export const COST_GROUP_BY = ['workspace_id', 'description'] as const;

const WIDTH_MS: Record<ReportName, number> = { usage: HOUR, costs: DAY, claude_code: DAY };
/** Rows made from a page between two turns of the event loop. */
const ROWS_PER_TURN = 2000;

export interface SpendSyncOptions {
  /** Days fetched when a report has never been synced (default BACKFILL_DAYS). */
  backfillDays?: number;
  /** Buckets (usage, costs) or records (Claude Code) per request; defaults to the API's maximum. */
  pageSize?: number;
}

/** What one sync of one report did. */
export interface SpendSyncSummary {
  report: ReportName;
  /** Report requests made (pages; the client's retries of one page are not counted again). */
  requests: number;
  /** Rows written (inserted). */
  rows: number;
  /** Time spent waiting for the API, and writing to the database. */
  httpMs: number;
  dbMs: number;
  /** The window fetched: [from, to). `to` is the end of the last bucket written. */
  from: Date;
  to: Date;
}

/** A sync that stopped on a failed request or write. What was written before stays, and is consistent. */
export class SpendSyncError extends Error {
  constructor(
    readonly report: ReportName,
    message: string,
    readonly summary: SpendSyncSummary,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SpendSyncError';
  }
}

// ---- the three reports as page sources

interface Window<R> {
  from: Date;
  to: Date;
  rows: R[];
}

interface Source<R> {
  report: ReportName;
  /** The pages covering [from, to) (`to` null: up to now, the API's default end), in order, as windows. */
  windows(s: SpendSyncServices, from: Date, to: Date | null, pageSize: number, timer: Timer): AsyncGenerator<Window<R>>;
  replace(s: SpendSyncServices, w: Window<R>): Promise<unknown>;
}

interface Timer {
  http<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * Windows of a bucketed report: each page replaces [its first bucket's start, its last bucket's end), starting
 * where the previous page ended (so a bucket the API leaves out is emptied rather than kept stale).
 */
async function* bucketWindows<T, R>(
  fetchPage: (page: string | undefined) => Promise<ReportPage<ReportBucket<T>>>,
  from: Date,
  to: Date | null,
  toRows: (b: ReportBucket<T>) => R[],
): AsyncGenerator<Window<R>> {
  let start = from.getTime();
  let token: string | undefined;
  const seen = new Set<string>();
  for (;;) {
    // Only the rows outlive this block: the parsed page is garbage before the rows are written, so a page of the
    // maximum size is in memory once, not twice.
    let lo = start;
    let hi = start;
    const rows: R[] = [];
    let next: string | null;
    {
      const page = await fetchPage(token);
      for (const b of page.data) {
        // The page replaces [lo, hi): a bucket before where this page starts (or of no length) would widen that
        // to stored days the page does not hold, and delete them. Refuse the page; nothing of it is written.
        if (b.startingAt.getTime() < start || b.endingAt.getTime() <= b.startingAt.getTime()) {
          throw new Error(
            `the API returned a bucket ${b.startingAt.toISOString()} … ${b.endingAt.toISOString()} outside the window asked for (from ${new Date(start).toISOString()})`,
          );
        }
        lo = Math.min(lo, b.startingAt.getTime());
        hi = Math.max(hi, b.endingAt.getTime());
        const before = rows.length;
        for (const row of toRows(b)) rows.push(row);
        // A page of a large organization is tens of thousands of rows: the event loop gets turns while they are made.
        if (Math.floor(rows.length / ROWS_PER_TURN) > Math.floor(before / ROWS_PER_TURN)) await nextTurn();
      }
      next = page.nextPage;
    }
    if (next === null && to !== null) hi = Math.max(hi, to.getTime());
    yield { from: new Date(lo), to: new Date(hi), rows };
    start = hi;
    if (next === null) return;
    if (seen.has(next)) throw new Error('the API returned the same page token twice');
    seen.add(next);
    token = next;
  }
}

const usageSource: Source<UsageHourRow> = {
  report: 'usage',
  windows: (s, from, to, pageSize, timer) =>
    bucketWindows(
      (page) =>
        timer.http(() =>
          s.reports.usageReportPage({
            startingAt: from,
            ...(to ? { endingAt: to } : {}),
            bucketWidth: '1h',
            limit: pageSize,
            groupBy: USAGE_GROUP_BY,
            ...(page ? { page } : {}),
          }),
        ),
      from,
      to,
      (b) =>
        b.results.map((r) => ({
          ...r,
          bucketStart: b.startingAt,
          workspaceId: r.workspaceId ?? '',
          apiKeyId: r.apiKeyId ?? '',
          model: r.model ?? '',
          serviceTier: r.serviceTier ?? '',
        })),
    ),
  replace: (s, w) => s.store.spend.replaceUsage(w.from, w.to, w.rows),
};

const costSource: Source<CostDayRow> = {
  report: 'costs',
  windows: (s, from, to, pageSize, timer) =>
    bucketWindows(
      (page) =>
        timer.http(() =>
          s.reports.costReportPage({
            startingAt: from,
            ...(to ? { endingAt: to } : {}),
            limit: pageSize,
            groupBy: COST_GROUP_BY,
            ...(page ? { page } : {}),
          }),
        ),
      from,
      to,
      (b) =>
        b.results.map((r) => ({
          day: b.startingAt,
          workspaceId: r.workspaceId ?? '',
          description: r.description ?? '',
          costType: r.costType ?? '',
          model: r.model ?? '',
          tokenType: r.tokenType ?? '',
          serviceTier: r.serviceTier ?? '',
          nanos: r.nanos,
        })),
    ),
  replace: (s, w) => s.store.spend.replaceCosts(w.from, w.to, w.rows),
};

/** One window per UTC day: every page of the day is read, then the day is replaced as a whole. */
const claudeCodeSource: Source<ClaudeCodeDayRow> = {
  report: 'claude_code',
  async *windows(s, from, to, pageSize, timer) {
    const end = (to ?? new Date(floorTo(s.clock.now().getTime(), DAY) + DAY)).getTime();
    for (let day = floorTo(from.getTime(), DAY); day < end; day += DAY) {
      const rows: ClaudeCodeDayRow[] = [];
      let token: string | undefined;
      const seen = new Set<string>();
      for (;;) {
        const page = await timer.http(() =>
          s.reports.claudeCodePage({ day: new Date(day), limit: pageSize, ...(token ? { page: token } : {}) }),
        );
        // A record is the day asked for; one dated otherwise would fall outside the window being replaced.
        for (const r of page.data) rows.push(r.day.getTime() === day ? r : { ...r, day: new Date(day) });
        if (page.nextPage === null) break;
        if (seen.has(page.nextPage)) throw new Error('the API returned the same page token twice');
        seen.add(page.nextPage);
        token = page.nextPage;
      }
      yield { from: new Date(day), to: new Date(day + DAY), rows };
    }
  },
  replace: (s, w) => s.store.spend.replaceClaudeCode(w.from, w.to, w.rows),
};

const SOURCES: Record<ReportName, Source<unknown>> = {
  usage: usageSource as Source<unknown>,
  costs: costSource as Source<unknown>,
  claude_code: claudeCodeSource as Source<unknown>,
};

// ---- running a sync

const floorTo = (ms: number, width: number) => Math.floor(ms / width) * width;
const iso = (d: Date) => d.toISOString();

/**
 * Fetches [from, to) of one report (to null: up to now) window by window, replacing each, and extends the
 * ingested range [syncedFrom, syncedThrough) with every window that touches it (or starts it). Pages after a
 * failure are not fetched; the error says what was written.
 */
async function fetchRange(
  s: SpendSyncServices,
  report: ReportName,
  from: Date,
  to: Date | null,
  opts: SpendSyncOptions,
): Promise<SpendSyncSummary> {
  const source = SOURCES[report];
  const width = WIDTH_MS[report];
  const pageSize = Math.min(Math.max(1, Math.floor(opts.pageSize ?? MAX_PAGE[report])), MAX_PAGE[report]);
  const summary: SpendSyncSummary = { report, requests: 0, rows: 0, httpMs: 0, dbMs: 0, from, to: from };
  const timer: Timer = {
    async http(fn) {
      const t = performance.now();
      summary.requests++;
      try {
        return await fn();
      } finally {
        summary.httpMs += performance.now() - t;
      }
    },
  };
  const db = async <T>(fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      summary.dbMs += performance.now() - t;
    }
  };

  let rangeFrom = await db(() => s.store.spend.syncedFrom(report));
  let rangeThrough = await db(() => s.store.spend.syncedThrough(report));
  let windows = 0;
  try {
    for await (const w of source.windows(s, from, to, pageSize, timer)) {
      await db(() => source.replace(s, w));
      windows++;
      summary.rows += w.rows.length;
      summary.to = w.to;
      // Only complete buckets count as ingested: the current hour or day is fetched again next time.
      const complete = new Date(Math.min(w.to.getTime(), floorTo(s.clock.now().getTime(), width)));
      const now = s.clock.now();
      if (rangeFrom === null || rangeThrough === null) {
        if (complete > w.from) {
          await db(() => s.store.spend.setSyncedFrom(report, w.from, now));
          await db(() => s.store.spend.setSyncedThrough(report, complete, now));
          rangeFrom = w.from;
          rangeThrough = complete;
        }
      } else if (w.from <= rangeThrough && w.to >= rangeFrom) {
        if (w.from < rangeFrom) {
          rangeFrom = w.from;
          await db(() => s.store.spend.setSyncedFrom(report, w.from, now));
        }
        if (complete > rangeThrough) {
          rangeThrough = complete;
          await db(() => s.store.spend.setSyncedThrough(report, complete, now));
        }
      }
      // Between pages the event loop gets a turn (chat commands keep being answered during a backfill).
      await nextTurn();
    }
  } catch (err) {
    summary.httpMs = Math.round(summary.httpMs);
    summary.dbMs = Math.round(summary.dbMs);
    const reason = describeFailure(err);
    const resume = rangeThrough ? ` The next run resumes from ${iso(rangeThrough)}.` : '';
    s.logger.warn(
      { report, requests: summary.requests, rows: summary.rows, windows, from: iso(from), reason },
      'spend sync failed',
    );
    throw new SpendSyncError(
      report,
      `${LABEL[report]} sync failed after ${windows} window(s) written (${summary.requests} request(s)): ${reason}${resume}`,
      summary,
      { cause: err },
    );
  }
  summary.httpMs = Math.round(summary.httpMs);
  summary.dbMs = Math.round(summary.dbMs);
  s.logger.info(
    {
      report,
      requests: summary.requests,
      rows: summary.rows,
      httpMs: summary.httpMs,
      dbMs: summary.dbMs,
      from: iso(summary.from),
      to: iso(summary.to),
    },
    'spend sync',
  );
  return summary;
}

/** The failure in one sentence: the API's status, attempts and message (never a secret: the client redacts them). */
function describeFailure(err: unknown): string {
  if (err instanceof AdminApiError) {
    const tries = err.attempts > 1 ? ` after ${err.attempts} attempts` : '';
    const id = err.requestId ? ` (request id ${err.requestId})` : '';
    return `the Admin API answered ${err.status ?? err.kind}${tries}: ${err.apiMessage.replace(/\.$/, '')}${id}.`;
  }
  const text = err instanceof Error ? err.message : String(err);
  return `${text.replace(/\.$/, '')}.`;
}

const LABEL: Record<ReportName, string> = {
  usage: 'Usage report',
  costs: 'Cost report',
  claude_code: 'Claude Code report',
};

/** Where an incremental run of `report` starts: the cursor minus the revisable trail, or the backfill start. */
async function incrementalStart(s: SpendSyncServices, report: ReportName, opts: SpendSyncOptions): Promise<Date> {
  const width = WIDTH_MS[report];
  const through = await s.store.spend.syncedThrough(report);
  const now = s.clock.now().getTime();
  if (through === null) return new Date(floorTo(now - (opts.backfillDays ?? BACKFILL_DAYS) * DAY, width));
  return new Date(floorTo(Math.min(through.getTime(), now) - TRAILING_MS[report], width));
}

/** Brings one report up to now: from the cursor (minus the revisable trail), or a backfill on the first run. */
export async function syncReport(
  s: SpendSyncServices,
  report: ReportName,
  opts: SpendSyncOptions = {},
): Promise<SpendSyncSummary> {
  return fetchRange(s, report, await incrementalStart(s, report, opts), null, opts);
}

/** Usage (hourly buckets by key, workspace, model and service tier) up to now. */
export const syncUsage = (s: SpendSyncServices, opts?: SpendSyncOptions) => syncReport(s, 'usage', opts);
/** Costs (daily, by workspace and description) up to now. */
export const syncCosts = (s: SpendSyncServices, opts?: SpendSyncOptions) => syncReport(s, 'costs', opts);
/** Claude Code (one series of requests per UTC day) up to now. */
export const syncClaudeCode = (s: SpendSyncServices, opts?: SpendSyncOptions) => syncReport(s, 'claude_code', opts);

/**
 * Fetches exactly [from, to) of one report (widened to whole buckets), whatever is stored: for re-ingesting a
 * window by hand or in tests. The ingested range grows when the window touches it.
 */
export async function syncReportWindow(
  s: SpendSyncServices,
  report: ReportName,
  from: Date,
  to: Date,
  opts: SpendSyncOptions = {},
): Promise<SpendSyncSummary> {
  const width = WIDTH_MS[report];
  const start = new Date(floorTo(from.getTime(), width));
  const end = new Date(Math.ceil(to.getTime() / width) * width);
  return fetchRange(s, report, start, end, opts);
}

/**
 * Makes sure [from, to) of every report is ingested, fetching only what is missing: when the window reaches
 * past what is known final (the cursor minus the revisable trail, or nothing synced yet), the report is first
 * brought up to now (syncReport, which backfills on a first run); any part of the window before the start of
 * the ingested range is then fetched as a window of its own. The digest calls this for "day D and the 30 days
 * before it". Returns the summaries of the fetches made (none when everything was already there).
 */
export async function ensureSpendData(
  s: SpendSyncServices,
  window: { from: Date; to: Date },
  opts: SpendSyncOptions & { reports?: readonly ReportName[] } = {},
): Promise<SpendSyncSummary[]> {
  const out: SpendSyncSummary[] = [];
  for (const report of opts.reports ?? (['usage', 'costs', 'claude_code'] as const)) {
    const through = await s.store.spend.syncedThrough(report);
    if (through === null || window.to.getTime() > through.getTime()) {
      // Part of the window was never fetched.
      out.push(await syncReport(s, report, opts));
    } else if (window.to.getTime() > through.getTime() - TRAILING_MS[report]) {
      // The window reaches into the trail the API may still revise: refresh it, unless a sync did within the
      // job's own interval (reports are asked for about once a minute at most, and the job keeps them current).
      const at = await s.store.spend.lastSyncedAt(report);
      if (at === null || s.clock.now().getTime() - at.getTime() > FRESH_MS[report]) {
        out.push(await syncReport(s, report, opts));
      }
    }
    const rangeFrom = await s.store.spend.syncedFrom(report);
    if (rangeFrom !== null && window.from < rangeFrom) {
      const end = new Date(Math.min(window.to.getTime(), rangeFrom.getTime()));
      out.push(await syncReportWindow(s, report, window.from, end, opts));
    }
  }
  return out;
}

/** One line for a job summary or a CLI: "usage: 5 requests, 1200 rows, http 340 ms, db 120 ms". */
export function formatSyncSummary(x: SpendSyncSummary): string {
  return `${x.report}: ${x.requests} requests, ${x.rows} rows, http ${x.httpMs} ms, db ${x.dbMs} ms`;
}
