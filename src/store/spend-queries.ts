/**
 * The read side of the ingested spend reports (SpendQueries). Every aggregate is a GROUP BY … SUM in the database
 * (Prisma's groupBy, the same query on SQLite and PostgreSQL), so only groups ever reach JavaScript: a month of
 * hourly usage for 10,000 keys is summed where it lies. Sums are BigInt on both databases (SQLite's 64-bit
 * integers; PostgreSQL's numeric sum of bigint, which Prisma returns as a BigInt).
 */
import type {
  ClaudeCodeActorSum,
  CostDaySum,
  SpendQueries,
  TokenSums,
  UsageDimension,
  UsageGroup,
  UsageScope,
} from '../core/ports/spend.js';
import { nextTurn } from '../core/turn.js';
import type { PrismaClient } from '../generated/sqlite/client.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** tokensByHour: groups per statement aimed at, the hours of its first statement, and the most of any. */
const SLICE_GROUPS = 500;
const FIRST_SLICE_HOURS = 6;
const MAX_SLICE_HOURS = 7 * 24;
const utcDay = (d: Date) => new Date(Math.floor(d.getTime() / DAY_MS) * DAY_MS);

const TOKEN_FIELDS = ['uncachedInput', 'cacheRead', 'cacheWrite5m', 'cacheWrite1h', 'output', 'webSearch'] as const;
const SUM_TOKENS = Object.fromEntries(TOKEN_FIELDS.map((f) => [f, true])) as Record<
  (typeof TOKEN_FIELDS)[number],
  true
>;

type SumRow = { _sum: Partial<Record<(typeof TOKEN_FIELDS)[number], bigint | number | null>> };

const big = (v: bigint | number | string | null | undefined): bigint =>
  v === null || v === undefined ? 0n : typeof v === 'bigint' ? v : BigInt(v);

function tokenSums(r: SumRow): TokenSums {
  return {
    uncachedInput: big(r._sum.uncachedInput),
    cacheRead: big(r._sum.cacheRead),
    cacheWrite5m: big(r._sum.cacheWrite5m),
    cacheWrite1h: big(r._sum.cacheWrite1h),
    output: big(r._sum.output),
    webSearch: big(r._sum.webSearch),
  };
}

/** The visibility filter: rows of these workspaces or of these keys (nothing when both are empty). */
function scopeWhere(scope: UsageScope | undefined) {
  if (!scope) return {};
  const or: object[] = [];
  if (scope.workspaceIds.length) or.push({ workspaceId: { in: [...scope.workspaceIds] } });
  if (scope.apiKeyIds.length) or.push({ apiKeyId: { in: [...scope.apiKeyIds] } });
  // An impossible condition, so "sees nothing" is still one query and not a special case everywhere.
  return or.length ? { OR: or } : { id: -1 };
}

export function spendQueries(prisma: PrismaClient): SpendQueries {
  return {
    async costByDay(from, to, o = {}) {
      const where = {
        day: { gte: from, lt: to },
        ...(o.workspaceIds ? { workspaceId: { in: [...o.workspaceIds] } } : {}),
      };
      if (o.byWorkspace) {
        const rows = await prisma.costDay.groupBy({
          by: ['day', 'workspaceId'],
          where,
          _sum: { nanos: true },
          orderBy: [{ day: 'asc' }, { workspaceId: 'asc' }],
        });
        return rows.map((r): CostDaySum => ({ day: r.day, workspaceId: r.workspaceId, nanos: big(r._sum.nanos) }));
      }
      const rows = await prisma.costDay.groupBy({
        by: ['day'],
        where,
        _sum: { nanos: true },
        orderBy: [{ day: 'asc' }],
      });
      return rows.map((r): CostDaySum => ({ day: r.day, nanos: big(r._sum.nanos) }));
    },

    async costByWorkspace(from, to, o = {}) {
      const rows = await prisma.costDay.groupBy({
        by: ['workspaceId'],
        where: {
          day: { gte: from, lt: to },
          ...(o.workspaceIds ? { workspaceId: { in: [...o.workspaceIds] } } : {}),
        },
        _sum: { nanos: true },
      });
      return rows
        .map((r) => ({ workspaceId: r.workspaceId, nanos: big(r._sum.nanos) }))
        .sort((a, b) =>
          a.nanos === b.nanos ? a.workspaceId.localeCompare(b.workspaceId) : a.nanos > b.nanos ? -1 : 1,
        );
    },

    async tokensByDay(from, to, scope) {
      // Grouped by hour in the database (at most 24 groups a day), folded into days here.
      const rows = await prisma.usageHour.groupBy({
        by: ['bucketStart'],
        where: { bucketStart: { gte: from, lt: to }, ...scopeWhere(scope) },
        _sum: SUM_TOKENS,
        orderBy: [{ bucketStart: 'asc' }],
      });
      const days = new Map<number, TokenSums & { day: Date }>();
      for (const r of rows) {
        const day = utcDay(r.bucketStart);
        const s = tokenSums(r);
        const acc = days.get(day.getTime());
        if (!acc) days.set(day.getTime(), { day, ...s });
        else for (const f of TOKEN_FIELDS) acc[f] += s[f];
      }
      return [...days.values()];
    },

    async tokens(from, to, by, scope) {
      const where = { bucketStart: { gte: from, lt: to }, ...scopeWhere(scope) };
      if (by.length === 0) {
        const r = await prisma.usageHour.aggregate({ where, _sum: SUM_TOKENS, _count: { _all: true } });
        return r._count._all === 0 ? [] : [tokenSums(r)];
      }
      const rows = await prisma.usageHour.groupBy({
        by: [...new Set(by)] as UsageDimension[],
        where,
        _sum: SUM_TOKENS,
      });
      return rows.map((r) => {
        const g: UsageGroup = tokenSums(r);
        for (const d of by) g[d] = (r as Record<string, unknown>)[d] as string;
        return g;
      });
    },

    async tokensByHour(from, to, by, scope) {
      // A statement per slice of hours, in order, each sized from the one before to about SLICE_GROUPS groups: a
      // month of a large organization's hours is hundreds of thousands of rows and tens of thousands of groups, and
      // one GROUP BY over them (libsql runs it, and makes its result rows, synchronously on this thread) plus the
      // mapping of its groups would hold the event loop for most of a second.
      const dims = [...new Set(by)] as UsageDimension[];
      const out: (UsageGroup & { hour: Date })[] = [];
      let hours = FIRST_SLICE_HOURS;
      for (let lo = from.getTime(); lo < to.getTime(); ) {
        const hi = Math.min(lo + hours * HOUR_MS, to.getTime());
        if (lo > from.getTime()) await nextTurn();
        const rows = await prisma.usageHour.groupBy({
          by: ['bucketStart', ...dims],
          where: { bucketStart: { gte: new Date(lo), lt: new Date(hi) }, ...scopeWhere(scope) },
          _sum: SUM_TOKENS,
          orderBy: [{ bucketStart: 'asc' }],
        });
        for (const r of rows) {
          const g: UsageGroup & { hour: Date } = { hour: r.bucketStart, ...tokenSums(r) };
          for (const d of dims) g[d] = (r as Record<string, unknown>)[d] as string;
          out.push(g);
        }
        const perHour = rows.length / Math.max(1, Math.ceil((hi - lo) / HOUR_MS));
        hours = Math.min(MAX_SLICE_HOURS, Math.max(1, Math.floor(SLICE_GROUPS / Math.max(perHour, 1))));
        lo = hi;
      }
      return out;
    },

    async latestUsageHour() {
      const r = await prisma.usageHour.aggregate({ _max: { bucketStart: true } });
      return r._max.bucketStart ?? null;
    },

    async claudeCodeByActor(from, to) {
      const rows = await prisma.claudeCodeDay.groupBy({
        by: ['actorType', 'actor'],
        where: { day: { gte: from, lt: to } },
        _sum: {
          sessions: true,
          linesAdded: true,
          linesRemoved: true,
          commits: true,
          pullRequests: true,
          costNanos: true,
        },
      });
      return rows
        .map(
          (r): ClaudeCodeActorSum => ({
            actorType: r.actorType,
            actor: r.actor,
            sessions: Number(r._sum.sessions ?? 0),
            linesAdded: Number(r._sum.linesAdded ?? 0),
            linesRemoved: Number(r._sum.linesRemoved ?? 0),
            commits: Number(r._sum.commits ?? 0),
            pullRequests: Number(r._sum.pullRequests ?? 0),
            costNanos: big(r._sum.costNanos),
          }),
        )
        .sort((a, b) =>
          a.costNanos === b.costNanos ? a.actor.localeCompare(b.actor) : a.costNanos > b.costNanos ? -1 : 1,
        );
    },
  };
}
