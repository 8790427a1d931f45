/**
 * The ingestion side of spend (usage hours, cost days, Claude Code days, report cursors) over Prisma.
 *
 * A replace makes the rows stored for [from, to) exactly the rows given: every row of the window goes, the new ones
 * come. Replacing (never adding) is what makes a re-fetch of a revised or half-written window count nothing twice.
 * The window is replaced span by span, each span one transaction: a span is whole buckets (every row of a bucket
 * goes in the same transaction as the bucket's old rows go), as many as keep its stored plus new rows under
 * SPEND_SPAN_ROWS (a bucket bigger than that is a span of its own). A reader therefore sees every bucket either old
 * or new, never half of one, and no commit is large enough to hold the event loop long (libsql runs statements and
 * commits synchronously on this thread). A window whose replace fails midway holds new and old buckets side by
 * side, each complete: the caller's next replace of the window finishes it. Inside a transaction the new rows go in
 * multi-row INSERTs of at most SPEND_CHUNK rows, with a turn of the event loop between statements, and the checks
 * and conversions of the rows are done chunk by chunk with turns between too. Replaces of one report are
 * serialized span by span (an advisory lock on PostgreSQL, where two READ COMMITTED transactions could otherwise
 * each insert a span after the other's delete; SQLite's single writer does it there), so the scheduler, `jobs run`
 * and the digest CLI may overlap safely: every span holds the rows of whichever replace wrote it last.
 */
import type { ClaudeCodeDayRow, CostDayRow, ReportName, SpendWrites, UsageHourRow } from '../core/ports/spend.js';
import { nextTurn } from '../core/turn.js';
import type { Prisma, PrismaClient } from '../generated/sqlite/client.js';
import { insertRows } from './insert-rows.js';
import { forgetQueryHistory } from './query-history.js';

type Tx = Prisma.TransactionClient;
type Provider = 'sqlite' | 'postgres';

/** Rows per INSERT: few enough that binding and running one statement stays short (far below parameter limits). */
export const SPEND_CHUNK = 250;
/** Stored plus new rows per transaction (one span of whole buckets), so that no commit is long. */
export const SPEND_SPAN_ROWS = 8000;
/**
 * Stored rows removed per DELETE inside a span's transaction: one DELETE of a span's thousands of indexed rows
 * held the event loop (libsql) for its whole run; a bounded one stays short.
 */
export const SPEND_DELETE_ROWS = 500;
/** Rows checked or converted between two turns of the event loop. */
const PASS_CHUNK = 2000;
/** A span of a large organization is several statements; the default 5 s interactive-transaction timeout is tight. */
const TX_OPTIONS = { maxWait: 60_000, timeout: 600_000 };
/** pg_advisory_xact_lock keys, one per report (arbitrary, fixed; the directory and link requests use …001/…002). */
const LOCK_KEYS: Record<ReportName, number> = {
  usage: 7_513_022_011,
  costs: 7_513_022_012,
  claude_code: 7_513_022_013,
};

/** ReportSync key suffix of the row holding where a report's ingested range starts. */
const FROM_SUFFIX = ':from';

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/**
 * A bigint the drivers bind faster as a JS number (Prisma's raw-parameter path for bigint costs about twice the
 * CPU per value): exact below 2^53, so only larger values stay bigints. The column is BIGINT either way.
 */
const int = (v: bigint): bigint | number => (v <= SAFE && v >= -SAFE ? Number(v) : v);

function checkWindow(from: Date, to: Date): void {
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || from.getTime() > to.getTime()) {
    throw new Error(`invalid report window ${String(from)} … ${String(to)}`);
  }
}

/** A span of whole buckets, [from, to), replaced in one transaction. */
interface Span<R> {
  from: Date;
  to: Date;
  rows: R[];
}

/**
 * The rows by bucket (each checked to lie inside the window: a row outside it would survive the next replace of
 * its own window, a double count waiting to happen), then the window cut into spans at bucket starts.
 */
async function spans<R>(
  rows: readonly R[],
  at: (r: R) => Date,
  from: Date,
  to: Date,
  stored: Map<number, number>,
  what: string,
): Promise<Span<R>[]> {
  const lo = from.getTime();
  const hi = to.getTime();
  const buckets = new Map<number, R[]>();
  for (let i = 0; i < rows.length; i++) {
    if (i > 0 && i % PASS_CHUNK === 0) await nextTurn();
    const r = rows[i]!;
    const t = at(r).getTime();
    if (!(t >= lo && t < hi)) {
      throw new Error(`${what} row at ${at(r).toISOString()} lies outside the window being replaced`);
    }
    let b = buckets.get(t);
    if (!b) {
      b = [];
      buckets.set(t, b);
    }
    b.push(r);
  }
  const starts = [...new Set([...buckets.keys(), ...stored.keys()])].sort((a, b) => a - b);
  const out: Span<R>[] = [];
  let span: Span<R> = { from, to, rows: [] };
  let size = 0;
  for (const t of starts) {
    const bucket = buckets.get(t) ?? [];
    const n = bucket.length + (stored.get(t) ?? 0);
    if (size > 0 && size + n > SPEND_SPAN_ROWS && t > span.from.getTime()) {
      span.to = new Date(t);
      out.push(span);
      span = { from: new Date(t), to, rows: [] };
      size = 0;
    }
    for (const r of bucket) span.rows.push(r);
    size += n;
  }
  out.push(span);
  return out;
}

interface Table<R> {
  report: ReportName;
  table: string;
  what: string;
  at: (r: R) => Date;
  row: (r: R) => Record<string, unknown>;
  /** The bucket column. */
  column: string;
  /** Stored rows per bucket start in [from, to). */
  count: (from: Date, to: Date) => Promise<Map<number, number>>;
}

const counts = (groups: { at: Date; n: number }[]) => new Map(groups.map((g) => [g.at.getTime(), g.n]));

export function spendStore(prisma: PrismaClient, provider: Provider): { spend: SpendWrites } {
  /**
   * Deletes the stored rows of [from, to) in statements of at most SPEND_DELETE_ROWS rows, a turn of the event loop
   * between them, inside the caller's transaction (so a reader still sees the span's buckets old until it commits).
   */
  async function remove<R>(tx: Tx, t: Table<R>, from: Date, to: Date): Promise<number> {
    const p = (i: number) => (provider === 'postgres' ? `$${i}` : '?');
    const sql =
      `DELETE FROM "${t.table}" WHERE "id" IN (SELECT "id" FROM "${t.table}" ` +
      `WHERE "${t.column}" >= ${p(1)} AND "${t.column}" < ${p(2)} LIMIT ${SPEND_DELETE_ROWS})`;
    let total = 0;
    for (;;) {
      const n = await tx.$executeRawUnsafe(sql, from, to);
      total += n;
      if (n < SPEND_DELETE_ROWS) return total;
      await nextTurn();
    }
  }

  async function replace<R>(
    t: Table<R>,
    from: Date,
    to: Date,
    rows: readonly R[],
  ): Promise<{ deleted: number; inserted: number }> {
    checkWindow(from, to);
    const stored = await t.count(from, to);
    let deleted = 0;
    for (const span of await spans(rows, t.at, from, to, stored, t.what)) {
      deleted += await prisma.$transaction(async (tx) => {
        if (provider === 'postgres') await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${LOCK_KEYS[t.report]})`);
        const count = await remove(tx, t, span.from, span.to);
        for (let i = 0; i < span.rows.length; i += SPEND_CHUNK) {
          await nextTurn();
          await insertRows(tx, provider, t.table, span.rows.slice(i, i + SPEND_CHUNK).map(t.row));
        }
        return count;
      }, TX_OPTIONS);
      forgetQueryHistory();
      await nextTurn();
    }
    return { deleted, inserted: rows.length };
  }

  const usage: Table<UsageHourRow> = {
    report: 'usage',
    table: 'UsageHour',
    column: 'bucketStart',
    what: 'usage',
    at: (r) => r.bucketStart,
    row: usageRow,
    count: async (from, to) => {
      const groups = await prisma.usageHour.groupBy({
        by: ['bucketStart'],
        where: { bucketStart: { gte: from, lt: to } },
        _count: { _all: true },
      });
      return counts(groups.map((g) => ({ at: g.bucketStart, n: g._count._all })));
    },
  };
  const costs: Table<CostDayRow> = {
    report: 'costs',
    table: 'CostDay',
    column: 'day',
    what: 'cost',
    at: (r) => r.day,
    row: costRow,
    count: async (from, to) => {
      const groups = await prisma.costDay.groupBy({
        by: ['day'],
        where: { day: { gte: from, lt: to } },
        _count: { _all: true },
      });
      return counts(groups.map((g) => ({ at: g.day, n: g._count._all })));
    },
  };
  const claudeCode: Table<ClaudeCodeDayRow> = {
    report: 'claude_code',
    table: 'ClaudeCodeDay',
    column: 'day',
    what: 'Claude Code',
    at: (r) => r.day,
    row: claudeCodeRow,
    count: async (from, to) => {
      const groups = await prisma.claudeCodeDay.groupBy({
        by: ['day'],
        where: { day: { gte: from, lt: to } },
        _count: { _all: true },
      });
      return counts(groups.map((g) => ({ at: g.day, n: g._count._all })));
    },
  };

  return {
    spend: {
      replaceUsage: (from, to, rows) => replace(usage, from, to, rows),
      replaceCosts: (from, to, rows) => replace(costs, from, to, rows),
      replaceClaudeCode: (from, to, rows) => replace(claudeCode, from, to, rows),

      async syncedThrough(report) {
        const r = await prisma.reportSync.findUnique({ where: { report } });
        return r?.syncedThrough ?? null;
      },

      async lastSyncedAt(report) {
        const r = await prisma.reportSync.findUnique({ where: { report } });
        return r?.updatedAt ?? null;
      },

      async setSyncedThrough(report, through, now) {
        await prisma.reportSync.upsert({
          where: { report },
          create: { report, syncedThrough: through, updatedAt: now },
          update: { syncedThrough: through, updatedAt: now },
        });
      },

      // The start of the range lives in a second ReportSync row of its own (the column is the same kind of date).
      async syncedFrom(report) {
        const r = await prisma.reportSync.findUnique({ where: { report: `${report}${FROM_SUFFIX}` } });
        return r?.syncedThrough ?? null;
      },

      async setSyncedFrom(report, from, now) {
        const key = `${report}${FROM_SUFFIX}`;
        await prisma.reportSync.upsert({
          where: { report: key },
          create: { report: key, syncedThrough: from, updatedAt: now },
          update: { syncedThrough: from, updatedAt: now },
        });
      },
    },
  };
}

// Column order is the INSERT's; every row of a table has the same keys. '' stands for the API's null.

const usageRow = (r: UsageHourRow) => ({
  bucketStart: r.bucketStart,
  workspaceId: r.workspaceId ?? '',
  apiKeyId: r.apiKeyId ?? '',
  model: r.model ?? '',
  serviceTier: r.serviceTier ?? '',
  uncachedInput: int(r.uncachedInput),
  cacheRead: int(r.cacheRead),
  cacheWrite5m: int(r.cacheWrite5m),
  cacheWrite1h: int(r.cacheWrite1h),
  output: int(r.output),
  webSearch: int(r.webSearch),
});

const costRow = (r: CostDayRow) => ({
  day: r.day,
  workspaceId: r.workspaceId ?? '',
  description: r.description ?? '',
  costType: r.costType ?? '',
  model: r.model ?? '',
  tokenType: r.tokenType ?? '',
  serviceTier: r.serviceTier ?? '',
  nanos: int(r.nanos),
});

const claudeCodeRow = (r: ClaudeCodeDayRow) => ({
  day: r.day,
  actorType: r.actorType,
  actor: r.actor ?? '',
  terminalType: r.terminalType ?? '',
  customerType: r.customerType ?? '',
  sessions: r.sessions,
  linesAdded: r.linesAdded,
  linesRemoved: r.linesRemoved,
  commits: r.commits,
  pullRequests: r.pullRequests,
  toolAccepted: r.toolAccepted,
  toolRejected: r.toolRejected,
  inputTokens: int(r.inputTokens),
  outputTokens: int(r.outputTokens),
  cacheRead: int(r.cacheRead),
  cacheCreation: int(r.cacheCreation),
  costNanos: int(r.costNanos),
});
