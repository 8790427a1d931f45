/**
 * The Store port over a generated Prisma client. Both generated clients (sqlite, postgres) come from the same
 * models, so their query API is identical; this module is written against the sqlite client's types.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { DomainError } from '../core/errors.js';
import type {
  AuditEntry,
  AuditEntryInput,
  AuditOutcome,
  AuditStage,
  LinkRequest,
  Platform,
  Store,
} from '../core/ports/store.js';
import type { PrismaClient } from '../generated/sqlite/client.js';
import { approvalStores } from './approvals-store.js';
import { AuditWriter } from './audit-writer.js';
import { digestStore } from './digest-store.js';
import { directoryStore } from './directory-store.js';
import { leaksStore } from './leaks-store.js';
import { limitsStore } from './limits-store.js';
import { linksStore } from './links-store.js';
import { slackInstallationStore } from './slack-installations-store.js';
import { spendQueries } from './spend-queries.js';
import { spendStore } from './spend-store.js';

export type Provider = 'sqlite' | 'postgres';

type Row<M extends keyof PrismaClient> = PrismaClient[M] extends { findFirstOrThrow(...a: any[]): Promise<infer R> }
  ? R
  : never;

/** Postgres advisory lock taken while a link request is filed (the pending caps are counted under it). */
const LINK_REQUESTS_LOCK_KEY = 7_513_022_002;
/** Generous interactive-transaction limits (the default 5 s timeout is tight for a busy database). */
const TX_OPTIONS = { maxWait: 30_000, timeout: 120_000 };

// --- conversions -------------------------------------------------------------------------------------------

const linkRequestFromRow = (r: Row<'linkRequest'>): LinkRequest => ({
  id: r.id,
  platform: r.platform as Platform,
  teamId: r.teamId,
  userId: r.userId,
  email: r.email,
  orgUserId: r.orgUserId,
  status: r.status as LinkRequest['status'],
  createdAt: r.createdAt,
  decidedAt: r.decidedAt,
  decidedBy: r.decidedBy,
  channelId: r.channelId,
  messageId: r.messageId,
});

const auditFromRow = (r: Row<'auditEvent'>): AuditEntry => ({
  id: r.id,
  at: r.at,
  platform: r.platform as AuditEntry['platform'],
  teamId: r.teamId,
  actorId: r.actorId,
  orgUserId: r.orgUserId,
  actorEmail: r.actorEmail,
  action: r.action,
  options: (r.options ?? {}) as Record<string, unknown>,
  outcome: r.outcome as AuditOutcome,
  stage: r.stage as AuditStage,
  errorCode: r.errorCode,
  message: r.message,
  durationMs: r.durationMs,
});

// --- errors --------------------------------------------------------------------------------------------------

const isUniqueViolation = (e: unknown): boolean =>
  typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'P2002';

async function mapErrors<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isUniqueViolation(e)) {
      const target = (e as { meta?: { target?: unknown } }).meta?.target;
      throw new DomainError('CONFLICT', `${what} conflicts with a concurrent change; try again.`, {
        cause: 'unique_violation',
        target,
      });
    }
    throw e;
  }
}

// --- the store -----------------------------------------------------------------------------------------------

export function createPrismaStore(prisma: PrismaClient, opts: { provider: Provider; migrationsDir: string }): Store {
  const { provider } = opts;
  const auditWriter = new AuditWriter(prisma, provider);

  return {
    links: linksStore(prisma, mapErrors),

    directory: directoryStore(prisma, provider, mapErrors),

    linkRequests: {
      async create({ requesterKey, ...input }, limits) {
        const now = new Date();
        const pendingOn = { platform: input.platform, status: 'pending' };
        try {
          return await prisma.$transaction(async (tx) => {
            // Filing is serialized, so the caps are counted with every earlier request in: on Postgres (READ
            // COMMITTED) by an advisory lock, after which each statement sees what the previous holder committed;
            // on SQLite by the libsql adapter's mutex, and by the write lock the first update takes.
            if (provider === 'postgres') {
              await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${LINK_REQUESTS_LOCK_KEY})`);
            }
            // Requests that expired unanswered stop counting (anywhere on the platform, for its cap).
            await tx.linkRequest.updateMany({
              where: { ...pendingOn, createdAt: { lt: limits.staleBefore } },
              data: { status: 'cancelled', decidedAt: now, pendingKey: null },
            });
            const mine = await tx.linkRequest.findUnique({ where: { pendingKey: requesterKey } });
            if (mine) return { refused: 'requester_pending' as const, pending: linkRequestFromRow(mine) };
            if (
              (await tx.linkRequest.count({ where: { ...pendingOn, teamId: input.teamId } })) >=
              limits.maxPendingPerTeam
            ) {
              return { refused: 'team_full' as const };
            }
            if ((await tx.linkRequest.count({ where: pendingOn })) >= limits.maxPendingPerPlatform) {
              return { refused: 'platform_full' as const };
            }
            const r = await tx.linkRequest.create({
              data: {
                id: `lr_${randomBytes(12).toString('hex')}`,
                ...input,
                status: 'pending',
                pendingKey: requesterKey,
                createdAt: now,
              },
            });
            return { filed: linkRequestFromRow(r) };
          }, TX_OPTIONS);
        } catch (e) {
          // Another process filed for the same requester between the check and the insert (SQLite, two processes).
          if (isUniqueViolation(e)) return { refused: 'requester_pending', pending: null };
          throw e;
        }
      },
      async get(id) {
        const r = await prisma.linkRequest.findUnique({ where: { id } });
        return r ? linkRequestFromRow(r) : null;
      },
      async decide(id, decision) {
        // A conditional update is the whole guarantee: of any number of concurrent deciders, exactly one
        // matches `status = 'pending'`; the rest update nothing and are told it was already decided.
        const { count } = await prisma.linkRequest.updateMany({
          where: { id, status: 'pending' },
          data: {
            status: decision.status,
            decidedBy: decision.decidedBy,
            decidedAt: decision.decidedAt,
            pendingKey: null,
          },
        });
        if (count === 0) return null;
        const r = await prisma.linkRequest.findUnique({ where: { id } });
        return r ? linkRequestFromRow(r) : null;
      },
      async setMessage(id, channelId, messageId) {
        await prisma.linkRequest.updateMany({ where: { id }, data: { channelId, messageId } });
      },
    },

    rateLimits: {
      async hit(key, limit, windowMs, now) {
        const since = new Date(now.getTime() - windowMs);
        // One row per slot (`<key>#0` … `<key>#<limit-1>`): the primary key lets exactly one attempt take a
        // slot, so of any number of concurrent attempts at most `limit` are counted, on both databases.
        for (let round = 0; round < 3; round++) {
          await prisma.rateLimitHit.deleteMany({ where: { key, at: { lte: since } } });
          for (let slot = 0; slot < limit; slot++) {
            try {
              await prisma.rateLimitHit.create({ data: { id: `${key}#${slot}`, key, at: now } });
              return { allowed: true };
            } catch (e) {
              if (!isUniqueViolation(e)) throw e;
            }
          }
          const oldest = await prisma.rateLimitHit.findFirst({
            where: { key, at: { gt: since } },
            orderBy: [{ at: 'asc' }, { id: 'asc' }],
            select: { at: true },
          });
          // None left in the window: the slots were freed meanwhile; take one.
          if (oldest) return { allowed: false, retryAt: new Date(oldest.at.getTime() + windowMs) };
        }
        return { allowed: false, retryAt: new Date(now.getTime() + 60_000) };
      },
    },

    actionTokens: {
      async create(input) {
        // 24 random bytes, base64url: unguessable, and far under Discord's 100-character custom_id limit.
        const id = `qm_${randomBytes(24).toString('base64url')}`;
        await prisma.actionToken.create({ data: { id, ...input, createdAt: new Date() } });
        return id;
      },
      async get(id) {
        if (!/^qm_[A-Za-z0-9_-]{1,64}$/.test(id)) return null;
        const r = await prisma.actionToken.findUnique({ where: { id } });
        return r ? { id: r.id, kind: r.kind, subjectId: r.subjectId, choice: r.choice, createdAt: r.createdAt } : null;
      },
      async subjects(kind) {
        const rows = await prisma.actionToken.findMany({
          where: { kind },
          select: { subjectId: true },
          distinct: ['subjectId'],
        });
        return rows.map((r) => r.subjectId);
      },
      async deleteFor(kind, subjectIds) {
        if (subjectIds.length === 0) return 0;
        const { count } = await prisma.actionToken.deleteMany({ where: { kind, subjectId: { in: [...subjectIds] } } });
        return count;
      },
    },

    audit: {
      append: (entry: AuditEntryInput) => auditWriter.append(entry),
      flush: () => auditWriter.flush(),
      async list({ limit, offset = 0 }) {
        // Entries appended in this process are written first (without waiting for the group commit's pace): a
        // `/qm audit` right after a command shows that command.
        await auditWriter.flush();
        const [rows, total] = await prisma.$transaction([
          prisma.auditEvent.findMany({
            orderBy: { seq: 'desc' },
            take: Math.max(0, limit),
            skip: Math.max(0, offset),
          }),
          prisma.auditEvent.count(),
        ]);
        return { entries: rows.map(auditFromRow), total };
      },
    },

    spendQueries: spendQueries(prisma),

    health: {
      async ping() {
        await prisma.$queryRawUnsafe('SELECT 1');
      },
      async pendingMigrations() {
        const shipped = (await readdir(opts.migrationsDir, { withFileTypes: true }))
          .filter((d) => d.isDirectory())
          .map((d) => d.name)
          .sort();
        // Catalog columns are cast to text/boolean so the runtime adapter never sees OID 19/18 (workaround #3).
        const exists =
          provider === 'postgres'
            ? await prisma.$queryRawUnsafe<{ ok: boolean }[]>(
                `SELECT to_regclass('_prisma_migrations') IS NOT NULL AS ok`,
              )
            : await prisma.$queryRawUnsafe<{ ok: unknown }[]>(
                `SELECT count(*) > 0 AS ok FROM sqlite_master WHERE type = 'table' AND name = '_prisma_migrations'`,
              );
        if (!exists[0] || !Number(exists[0].ok)) return shipped;
        const applied = await prisma.$queryRawUnsafe<{ migration_name: string }[]>(
          `SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
        );
        const done = new Set(applied.map((r) => r.migration_name));
        return shipped.filter((name) => !done.has(name));
      },
    },

    ...approvalStores(prisma),
    ...slackInstallationStore(prisma),
    ...digestStore(prisma),
    ...spendStore(prisma, provider),
    ...limitsStore(prisma),
    ...leaksStore(prisma),

    async close() {
      await auditWriter.flush();
      await prisma.$disconnect();
    },
  };
}
