/**
 * Budgets, threshold alerts, enforcements and runaway-spend episodes over Prisma (issue 10). "Exactly one caller"
 * is either an INSERT on a unique key (the others get P2002) or a conditional UPDATE whose WHERE only the state
 * before the change satisfies (updateMany is one UPDATE statement: PostgreSQL re-checks the WHERE on the locked
 * row, SQLite runs writes one at a time), so it holds across replicas on both databases.
 */
import { randomBytes } from 'node:crypto';
import type {
  Budget,
  BudgetAlert,
  BudgetEnforcement,
  BudgetInput,
  CardRef,
  SpendAnomaly,
} from '../core/ports/limits.js';
import type { Store } from '../core/ports/store.js';
import type { PrismaClient } from '../generated/sqlite/client.js';

type Row<M extends keyof PrismaClient> = PrismaClient[M] extends { findFirstOrThrow(...a: any[]): Promise<infer R> }
  ? R
  : never;

const isUniqueViolation = (e: unknown): boolean =>
  typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'P2002';
/** "Record to update not found" (the row went between our read and our update). */
const isNotFound = (e: unknown): boolean =>
  typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'P2025';

/** Short, url-safe, unguessable ids (they travel in button ids). */
const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url')}`;

const thresholdsToText = (t: readonly number[]) => t.join(',');
const thresholdsFromText = (s: string): number[] =>
  s
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map(Number);

const keyIdsFromText = (s: string): string[] => {
  const v: unknown = JSON.parse(s);
  return Array.isArray(v) ? v.map(String) : [];
};

const cardOf = (r: {
  platform: string | null;
  teamId: string | null;
  channelId: string | null;
  messageId: string | null;
}): CardRef | null =>
  r.platform && r.teamId !== null && r.channelId && r.messageId
    ? { platform: r.platform as CardRef['platform'], teamId: r.teamId, channelId: r.channelId, messageId: r.messageId }
    : null;

const cardData = (c: CardRef) => ({
  platform: c.platform,
  teamId: c.teamId,
  channelId: c.channelId,
  messageId: c.messageId,
});

const budgetFromRow = (r: Row<'budget'>): Budget => ({
  id: r.id,
  scope: r.scope as Budget['scope'],
  targetId: r.targetId,
  targetName: r.targetName,
  workspaceId: r.workspaceId,
  amountNanos: r.amountNanos,
  period: r.period as Budget['period'],
  timezone: r.timezone,
  thresholds: thresholdsFromText(r.thresholds),
  enforce: r.enforce,
  reenable: r.reenable as Budget['reenable'],
  platform: r.platform as Budget['platform'],
  teamId: r.teamId,
  channelId: r.channelId,
  createdBy: r.createdBy,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
});

const alertFromRow = (r: Row<'budgetAlert'>): BudgetAlert => ({
  budgetId: r.budgetId,
  period: r.period,
  threshold: r.threshold,
  state: r.state as BudgetAlert['state'],
  crossedAt: r.crossedAt,
  backUnderAt: r.backUnderAt,
  spendNanos: r.spendNanos,
  resetAt: r.resetAt,
});

const enforcementFromRow = (r: Row<'budgetEnforcement'>): BudgetEnforcement => ({
  id: r.id,
  budgetId: r.budgetId,
  period: r.period,
  keyIds: keyIdsFromText(r.keyIds),
  disabledAt: r.disabledAt,
  reenabledAt: r.reenabledAt,
  reenabledBy: r.reenabledBy,
  card: cardOf(r),
});

const anomalyFromRow = (r: Row<'spendAnomaly'>): SpendAnomaly => ({
  id: r.id,
  subjectType: r.subjectType as SpendAnomaly['subjectType'],
  subjectId: r.subjectId,
  window: r.window as SpendAnomaly['window'],
  startedAt: r.startedAt,
  lastSeenAt: r.lastSeenAt,
  endedAt: r.endedAt,
  costNanos: r.costNanos,
  baselineNanos: r.baselineNanos,
  card: cardOf(r),
});

const budgetData = (input: BudgetInput) => ({
  targetName: input.targetName,
  workspaceId: input.workspaceId,
  amountNanos: input.amountNanos,
  period: input.period,
  timezone: input.timezone,
  thresholds: thresholdsToText(input.thresholds),
  enforce: input.enforce,
  reenable: input.reenable,
  platform: input.platform,
  teamId: input.teamId,
  channelId: input.channelId,
  createdBy: input.createdBy,
});

const alertKey = (budgetId: string, period: string, threshold: number) => ({ budgetId, period, threshold });

export function limitsStore(prisma: PrismaClient): Pick<Store, 'limits'> {
  return {
    limits: {
      // ---- budgets

      async upsertBudget(input, now) {
        const key = { scope: input.scope, targetId: input.targetId };
        const change = { ...budgetData(input), updatedAt: now };
        for (let attempt = 0; ; attempt++) {
          const existing = await prisma.budget.findUnique({ where: { scope_targetId: key } });
          if (existing) {
            try {
              const r = await prisma.budget.update({ where: { id: existing.id }, data: change });
              return { budget: budgetFromRow(r), created: false };
            } catch (e) {
              // Deleted between the read and the update: create it again.
              if (!isNotFound(e) || attempt >= 5) throw e;
              continue;
            }
          }
          try {
            const r = await prisma.budget.create({ data: { id: newId('bud'), ...key, ...change, createdAt: now } });
            return { budget: budgetFromRow(r), created: true };
          } catch (e) {
            // A concurrent call created it first: change that one.
            if (!isUniqueViolation(e) || attempt >= 5) throw e;
          }
        }
      },

      async getBudget(id) {
        const r = await prisma.budget.findUnique({ where: { id } });
        return r ? budgetFromRow(r) : null;
      },

      async findBudget(scope, targetId) {
        const r = await prisma.budget.findUnique({ where: { scope_targetId: { scope, targetId } } });
        return r ? budgetFromRow(r) : null;
      },

      async listBudgets() {
        const rows = await prisma.budget.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
        return rows.map(budgetFromRow);
      },

      async deleteBudget(scope, targetId) {
        return prisma.$transaction(async (tx) => {
          const r = await tx.budget.findUnique({ where: { scope_targetId: { scope, targetId } } });
          if (!r) return null;
          await tx.budgetAlert.deleteMany({ where: { budgetId: r.id } });
          const { count } = await tx.budget.deleteMany({ where: { id: r.id } });
          return count === 1 ? budgetFromRow(r) : null;
        });
      },

      // ---- threshold alerts

      async claimCrossing(budgetId, period, threshold, spend, at) {
        try {
          await prisma.budgetAlert.create({
            data: {
              ...alertKey(budgetId, period, threshold),
              state: 'over',
              crossedAt: at,
              backUnderAt: null,
              spendNanos: spend,
              resetAt: null,
            },
          });
          return true;
        } catch (e) {
          if (!isUniqueViolation(e)) throw e;
        }
        const { count } = await prisma.budgetAlert.updateMany({
          where: { ...alertKey(budgetId, period, threshold), state: 'under' },
          data: { state: 'over', crossedAt: at, backUnderAt: null, spendNanos: spend },
        });
        return count === 1;
      },

      async releaseCrossing(budgetId, period, threshold, at) {
        await prisma.budgetAlert.deleteMany({
          where: { ...alertKey(budgetId, period, threshold), state: 'over', crossedAt: at },
        });
      },

      async claimBackUnder(budgetId, period, threshold, spend, at) {
        const { count } = await prisma.budgetAlert.updateMany({
          where: { ...alertKey(budgetId, period, threshold), state: 'over' },
          data: { state: 'under', backUnderAt: at, spendNanos: spend },
        });
        return count === 1;
      },

      async claimReset(budgetId, period, threshold, at) {
        const { count } = await prisma.budgetAlert.updateMany({
          where: { ...alertKey(budgetId, period, threshold), state: 'over', resetAt: null },
          data: { resetAt: at },
        });
        return count === 1;
      },

      async alerts(budgetId, period) {
        const rows = await prisma.budgetAlert.findMany({
          where: { budgetId, ...(period !== undefined ? { period } : {}) },
          orderBy: [{ period: 'asc' }, { threshold: 'asc' }],
        });
        return rows.map(alertFromRow);
      },

      // ---- enforcement

      async createEnforcement(budgetId, period, keyIds, at) {
        try {
          const r = await prisma.budgetEnforcement.create({
            data: {
              id: newId('enf'),
              budgetId,
              period,
              keyIds: JSON.stringify([...keyIds]),
              disabledAt: at,
              reenabledAt: null,
              reenabledBy: null,
            },
          });
          return enforcementFromRow(r);
        } catch (e) {
          if (isUniqueViolation(e)) return null;
          throw e;
        }
      },

      async setEnforcementKeys(id, keyIds) {
        await prisma.budgetEnforcement.updateMany({ where: { id }, data: { keyIds: JSON.stringify([...keyIds]) } });
      },

      async setEnforcementCard(id, card) {
        await prisma.budgetEnforcement.updateMany({ where: { id }, data: cardData(card) });
      },

      async getEnforcement(id) {
        const r = await prisma.budgetEnforcement.findUnique({ where: { id } });
        return r ? enforcementFromRow(r) : null;
      },

      async enforcementFor(budgetId, period) {
        const r = await prisma.budgetEnforcement.findUnique({ where: { budgetId_period: { budgetId, period } } });
        return r ? enforcementFromRow(r) : null;
      },

      async openEnforcements() {
        const rows = await prisma.budgetEnforcement.findMany({
          where: { reenabledAt: null },
          orderBy: [{ disabledAt: 'asc' }, { id: 'asc' }],
        });
        return rows.map(enforcementFromRow);
      },

      async claimReenable(id, by, at) {
        const { count } = await prisma.budgetEnforcement.updateMany({
          where: { id, reenabledAt: null },
          data: { reenabledAt: at, reenabledBy: by },
        });
        if (count !== 1) return null;
        const r = await prisma.budgetEnforcement.findUnique({ where: { id } });
        return r ? enforcementFromRow(r) : null;
      },

      async releaseReenable(id, by) {
        await prisma.budgetEnforcement.updateMany({
          where: { id, reenabledBy: by, reenabledAt: { not: null } },
          data: { reenabledAt: null, reenabledBy: null },
        });
      },

      // ---- runaway spend

      async openAnomaly(subjectType, subjectId) {
        const r = await prisma.spendAnomaly.findFirst({
          where: { subjectType, subjectId, endedAt: null },
          orderBy: [{ startedAt: 'desc' }, { id: 'desc' }],
        });
        return r ? anomalyFromRow(r) : null;
      },

      async createAnomaly(input) {
        try {
          const r = await prisma.spendAnomaly.create({
            data: {
              id: newId('anm'),
              subjectType: input.subjectType,
              subjectId: input.subjectId,
              window: input.window,
              startedAt: input.startedAt,
              lastSeenAt: input.lastSeenAt,
              endedAt: null,
              costNanos: input.costNanos,
              baselineNanos: input.baselineNanos,
            },
          });
          return anomalyFromRow(r);
        } catch (e) {
          if (isUniqueViolation(e)) return null;
          throw e;
        }
      },

      async dropAnomaly(id) {
        await prisma.spendAnomaly.deleteMany({ where: { id, messageId: null } });
      },

      async touchAnomaly(id, lastSeenAt, costNanos) {
        await prisma.spendAnomaly.updateMany({ where: { id }, data: { lastSeenAt, costNanos } });
      },

      async endAnomaly(id, at) {
        await prisma.spendAnomaly.updateMany({ where: { id, endedAt: null }, data: { endedAt: at } });
      },

      async setAnomalyCard(id, card) {
        await prisma.spendAnomaly.updateMany({ where: { id }, data: cardData(card) });
      },

      async getAnomaly(id) {
        const r = await prisma.spendAnomaly.findUnique({ where: { id } });
        return r ? anomalyFromRow(r) : null;
      },

      async anomaliesBetween(from, to) {
        const rows = await prisma.spendAnomaly.findMany({
          where: { startedAt: { gte: from, lt: to } },
          orderBy: [{ startedAt: 'asc' }, { id: 'asc' }],
        });
        return rows.map(anomalyFromRow);
      },
    },
  };
}
