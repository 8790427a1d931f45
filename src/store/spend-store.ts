/**
 * The ingestion side of spend (usage hours, cost days, Claude Code days, report cursors) over Prisma.
 *
 * A replace is one transaction: every row of the window goes, then the new rows come in multi-row INSERTs of at
 * most SPEND_CHUNK rows, with a turn of the event loop between statements. Replacing (never adding) is what makes
 * a re-fetch of a revised or half-written window count nothing twice. Replaces of one report are serialized (an
 * advisory lock on PostgreSQL, where two READ COMMITTED transactions could otherwise each insert the window after
 * the other's delete; SQLite's single writer does it there), so the scheduler, `jobs run` and the digest CLI may
 * overlap safely.
 */
import type { ClaudeCodeDayRow, CostDayRow, ReportName, SpendWrites, UsageHourRow } from '../core/ports/spend.js';
import type { Prisma, PrismaClient } from '../generated/sqlite/client.js';
import { insertRows } from './insert-rows.js';

type Tx = Prisma.TransactionClient;
type Provider = 'sqlite' | 'postgres';

/** Rows per INSERT: 17 columns × 500 stays far below both databases' bound-parameter limits. */
export const SPEND_CHUNK = 500;
/** A window of a large organization is many statements; the default 5 s interactive-transaction timeout is tight. */
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

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function checkWindow(from: Date, to: Date): void {
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || from.getTime() > to.getTime()) {
    throw new Error(`invalid report window ${String(from)} … ${String(to)}`);
  }
}

function checkInside(rows: readonly { at: Date }[], from: Date, to: Date, what: string): void {
  for (const r of rows) {
    const t = r.at.getTime();
    if (!(t >= from.getTime() && t < to.getTime())) {
      // A row outside the window would survive the next replace of its own window: a double count waiting to happen.
      throw new Error(`${what} row at ${r.at.toISOString()} lies outside the window being replaced`);
    }
  }
}

export function spendStore(prisma: PrismaClient, provider: Provider): { spend: SpendWrites } {
  async function replace(
    report: ReportName,
    remove: (tx: Tx) => Promise<{ count: number }>,
    table: string,
    rows: Record<string, unknown>[],
  ): Promise<{ deleted: number; inserted: number }> {
    return prisma.$transaction(async (tx) => {
      if (provider === 'postgres') await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${LOCK_KEYS[report]})`);
      const { count: deleted } = await remove(tx);
      for (let i = 0; i < rows.length; i += SPEND_CHUNK) {
        await yieldToLoop();
        await insertRows(tx, provider, table, rows.slice(i, i + SPEND_CHUNK));
      }
      return { deleted, inserted: rows.length };
    }, TX_OPTIONS);
  }

  return {
    spend: {
      async replaceUsage(from, to, rows) {
        checkWindow(from, to);
        checkInside(
          rows.map((r) => ({ at: r.bucketStart })),
          from,
          to,
          'usage',
        );
        return replace(
          'usage',
          (tx) => tx.usageHour.deleteMany({ where: { bucketStart: { gte: from, lt: to } } }),
          'UsageHour',
          rows.map(usageRow),
        );
      },

      async replaceCosts(from, to, rows) {
        checkWindow(from, to);
        checkInside(
          rows.map((r) => ({ at: r.day })),
          from,
          to,
          'cost',
        );
        return replace(
          'costs',
          (tx) => tx.costDay.deleteMany({ where: { day: { gte: from, lt: to } } }),
          'CostDay',
          rows.map(costRow),
        );
      },

      async replaceClaudeCode(from, to, rows) {
        checkWindow(from, to);
        checkInside(
          rows.map((r) => ({ at: r.day })),
          from,
          to,
          'Claude Code',
        );
        return replace(
          'claude_code',
          (tx) => tx.claudeCodeDay.deleteMany({ where: { day: { gte: from, lt: to } } }),
          'ClaudeCodeDay',
          rows.map(claudeCodeRow),
        );
      },

      async syncedThrough(report) {
        const r = await prisma.reportSync.findUnique({ where: { report } });
        return r?.syncedThrough ?? null;
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
