/**
 * The Store port over a generated Prisma client. Both generated clients (sqlite, postgres) come from the same
 * models, so their query API is identical; this module is written against the sqlite client's types.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { DomainError } from '../core/errors.js';
import type { ApiKey, Invite, OrgUser, Workspace, WorkspaceMember } from '../core/ports/admin-api.js';
import type {
  AuditEntry,
  AuditEntryInput,
  AuditOutcome,
  AuditStage,
  DirectorySnapshot,
  IdentityLink,
  LinkRequest,
  Platform,
  Store,
} from '../core/ports/store.js';
import type { Prisma, PrismaClient } from '../generated/sqlite/client.js';
import { approvalStores } from './approvals-store.js';
import { AuditWriter } from './audit-writer.js';
import { slackInstallationStore } from './slack-installations-store.js';

export type Provider = 'sqlite' | 'postgres';

type Tx = Prisma.TransactionClient;
type Row<M extends keyof PrismaClient> = PrismaClient[M] extends { findFirstOrThrow(...a: any[]): Promise<infer R> }
  ? R
  : never;

const DIRECTORY_SYNC_ID = 'directory';
/** pg_advisory_xact_lock key that serializes directory.replace on Postgres (arbitrary, fixed). */
const DIRECTORY_LOCK_KEY = 7_513_022_001;
/** Postgres advisory lock taken while a link request is filed (the pending caps are counted under it). */
const LINK_REQUESTS_LOCK_KEY = 7_513_022_002;
/** A full sync writes every row of the org; the default 5 s interactive-transaction timeout is too tight. */
const TX_OPTIONS = { maxWait: 30_000, timeout: 120_000 };

// --- conversions -------------------------------------------------------------------------------------------

/** API timestamps are strings; unparseable ones are stored as null rather than failing the whole sync. */
const toDate = (s: string | null | undefined): Date | null => {
  if (!s) return null;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d;
};
const toIso = (d: Date | null): string | null => (d ? d.toISOString() : null);
const lower = (email: string) => email.trim().toLowerCase();

const linkFromRow = (r: Row<'identityLink'>): IdentityLink => ({
  platform: r.platform as Platform,
  teamId: r.teamId,
  userId: r.userId,
  orgUserId: r.orgUserId,
  email: r.email,
  method: r.method,
  linkedAt: r.linkedAt,
  refreshedAt: r.refreshedAt,
});

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

const userFromRow = (r: Row<'orgUser'>): OrgUser => ({
  id: r.id,
  email: r.email,
  name: r.name,
  role: r.role,
  addedAt: toIso(r.addedAt),
});
const userToRow = (u: OrgUser, syncedAt: Date) => ({
  id: u.id,
  email: u.email,
  emailLower: lower(u.email),
  name: u.name,
  role: u.role,
  addedAt: toDate(u.addedAt),
  syncedAt,
});

const inviteToRow = (i: Invite, syncedAt: Date) => ({
  id: i.id,
  email: i.email,
  emailLower: lower(i.email),
  role: i.role,
  status: i.status,
  invitedAt: toDate(i.invitedAt),
  expiresAt: toDate(i.expiresAt),
  syncedAt,
});

const workspaceFromRow = (r: Row<'workspace'>): Workspace => ({
  id: r.id,
  name: r.name,
  createdAt: toIso(r.createdAt),
  archivedAt: toIso(r.archivedAt),
  displayColor: r.displayColor,
});
const workspaceToRow = (w: Workspace, syncedAt: Date) => ({
  id: w.id,
  name: w.name,
  createdAt: toDate(w.createdAt),
  archivedAt: toDate(w.archivedAt),
  displayColor: w.displayColor,
  syncedAt,
});

const memberFromRow = (r: Row<'workspaceMember'>): WorkspaceMember => ({
  userId: r.userId,
  workspaceId: r.workspaceId,
  workspaceRole: r.workspaceRole,
});
const memberToRow = (m: WorkspaceMember, syncedAt: Date) => ({
  workspaceId: m.workspaceId,
  userId: m.userId,
  workspaceRole: m.workspaceRole,
  syncedAt,
});

const apiKeyFromRow = (r: Row<'apiKey'>): ApiKey => ({
  id: r.id,
  name: r.name,
  status: r.status,
  partialKeyHint: r.partialKeyHint,
  workspaceId: r.workspaceId,
  createdAt: toIso(r.createdAt),
  createdBy: r.createdById ? { id: r.createdById, type: r.createdByType ?? 'user' } : null,
  expiresAt: toIso(r.expiresAt),
});
const apiKeyToRow = (k: ApiKey, syncedAt: Date) => ({
  id: k.id,
  name: k.name,
  status: k.status,
  partialKeyHint: k.partialKeyHint,
  workspaceId: k.workspaceId,
  createdAt: toDate(k.createdAt),
  createdById: k.createdBy?.id ?? null,
  createdByType: k.createdBy?.type ?? null,
  expiresAt: toDate(k.expiresAt),
  syncedAt,
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

/** Later rows win, as the API would have it; duplicate ids would otherwise fail createMany with P2002. */
function dedupe<T>(rows: T[], key: (r: T) => string): T[] {
  const m = new Map<string, T>();
  for (const r of rows) m.set(key(r), r);
  return [...m.values()];
}

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
  const auditWriter = new AuditWriter(prisma);

  const upsertUsers = (tx: Tx, users: OrgUser[], syncedAt: Date) =>
    Promise.all(
      dedupe(users, (u) => u.id).map((u) => {
        const row = userToRow(u, syncedAt);
        return tx.orgUser.upsert({ where: { id: u.id }, create: row, update: row });
      }),
    );
  const upsertWorkspaces = (tx: Tx, workspaces: Workspace[], syncedAt: Date) =>
    Promise.all(
      dedupe(workspaces, (w) => w.id).map((w) => {
        const row = workspaceToRow(w, syncedAt);
        return tx.workspace.upsert({ where: { id: w.id }, create: row, update: row });
      }),
    );
  const upsertApiKeys = (tx: Tx, keys: ApiKey[], syncedAt: Date) =>
    Promise.all(
      dedupe(keys, (k) => k.id).map((k) => {
        const row = apiKeyToRow(k, syncedAt);
        return tx.apiKey.upsert({ where: { id: k.id }, create: row, update: row });
      }),
    );

  /**
   * Concurrent full syncs must not interleave: on Postgres (READ COMMITTED) two delete-then-insert transactions
   * would collide on the primary keys. SQLite transactions on one client are already serialized by the libsql
   * adapter's mutex, and writing the DirectorySync row first takes SQLite's write lock for the rest.
   */
  const lockDirectory = async (tx: Tx, syncedAt: Date) => {
    if (provider === 'postgres') await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${DIRECTORY_LOCK_KEY})`);
    await tx.directorySync.upsert({
      where: { id: DIRECTORY_SYNC_ID },
      create: { id: DIRECTORY_SYNC_ID, lastSyncedAt: syncedAt },
      update: { lastSyncedAt: syncedAt },
    });
  };

  return {
    links: {
      async find(platform, teamId, userId) {
        const r = await prisma.identityLink.findUnique({
          where: { platform_teamId_userId: { platform, teamId, userId } },
        });
        return r ? linkFromRow(r) : null;
      },
      async upsert(link) {
        const row = {
          platform: link.platform,
          teamId: link.teamId,
          userId: link.userId,
          orgUserId: link.orgUserId,
          email: link.email,
          emailLower: lower(link.email),
          method: link.method,
          linkedAt: link.linkedAt,
          refreshedAt: link.refreshedAt,
        };
        const r = await mapErrors('Linking this account', () =>
          prisma.identityLink.upsert({
            where: { platform_teamId_userId: { platform: link.platform, teamId: link.teamId, userId: link.userId } },
            create: row,
            update: row,
          }),
        );
        return linkFromRow(r);
      },
      async remove(platform, teamId, userId) {
        const { count } = await prisma.identityLink.deleteMany({ where: { platform, teamId, userId } });
        return count > 0;
      },
      async listForOrgUser(orgUserId) {
        const rows = await prisma.identityLink.findMany({
          where: { orgUserId },
          orderBy: [{ platform: 'asc' }, { teamId: 'asc' }, { userId: 'asc' }],
        });
        return rows.map(linkFromRow);
      },
    },

    directory: {
      async replace(snapshot: DirectorySnapshot) {
        const at = snapshot.syncedAt;
        await mapErrors('The directory sync', () =>
          prisma.$transaction(async (tx) => {
            await lockDirectory(tx, at);
            // A synced copy with no foreign keys: clearing and re-inserting is the same as "delete vanished,
            // upsert the rest" inside one transaction, and much cheaper than a round trip per row.
            await tx.orgUser.deleteMany({});
            await tx.orgUser.createMany({ data: dedupe(snapshot.users, (u) => u.id).map((u) => userToRow(u, at)) });
            if (snapshot.invites) {
              await tx.invite.deleteMany({});
              await tx.invite.createMany({
                data: dedupe(snapshot.invites, (i) => i.id).map((i) => inviteToRow(i, at)),
              });
            }
            if (snapshot.workspaces) {
              await tx.workspace.deleteMany({});
              await tx.workspace.createMany({
                data: dedupe(snapshot.workspaces, (w) => w.id).map((w) => workspaceToRow(w, at)),
              });
            }
            if (snapshot.members) {
              await tx.workspaceMember.deleteMany({});
              await tx.workspaceMember.createMany({
                data: dedupe(snapshot.members, (m) => `${m.workspaceId}\u0000${m.userId}`).map((m) =>
                  memberToRow(m, at),
                ),
              });
            }
            if (snapshot.apiKeys) {
              await tx.apiKey.deleteMany({});
              await tx.apiKey.createMany({
                data: dedupe(snapshot.apiKeys, (k) => k.id).map((k) => apiKeyToRow(k, at)),
              });
            }
          }, TX_OPTIONS),
        );
      },
      async upsertUsers(users) {
        if (users.length === 0) return;
        await mapErrors('Saving users', () =>
          prisma.$transaction((tx) => upsertUsers(tx, users, new Date()), TX_OPTIONS),
        );
      },
      async upsertWorkspaces(workspaces) {
        if (workspaces.length === 0) return;
        await mapErrors('Saving workspaces', () =>
          prisma.$transaction((tx) => upsertWorkspaces(tx, workspaces, new Date()), TX_OPTIONS),
        );
      },
      async upsertApiKeys(keys) {
        if (keys.length === 0) return;
        await mapErrors('Saving API keys', () =>
          prisma.$transaction((tx) => upsertApiKeys(tx, keys, new Date()), TX_OPTIONS),
        );
      },
      async replaceWorkspaceMembers(workspaceId, members) {
        const at = new Date();
        await mapErrors('Saving workspace members', () =>
          prisma.$transaction(async (tx) => {
            await tx.workspaceMember.deleteMany({ where: { workspaceId } });
            await tx.workspaceMember.createMany({
              data: dedupe(
                members.map((m) => ({ ...m, workspaceId })),
                (m) => m.userId,
              ).map((m) => memberToRow(m, at)),
            });
          }, TX_OPTIONS),
        );
      },
      async lastSyncedAt() {
        const r = await prisma.directorySync.findUnique({ where: { id: DIRECTORY_SYNC_ID } });
        return r?.lastSyncedAt ?? null;
      },
      async getUser(orgUserId) {
        const r = await prisma.orgUser.findUnique({ where: { id: orgUserId } });
        return r ? userFromRow(r) : null;
      },
      async findUserByEmail(email) {
        const r = await prisma.orgUser.findFirst({ where: { emailLower: lower(email) }, orderBy: { id: 'asc' } });
        return r ? userFromRow(r) : null;
      },
      async listUsers() {
        const rows = await prisma.orgUser.findMany({ orderBy: [{ emailLower: 'asc' }, { id: 'asc' }] });
        return rows.map(userFromRow);
      },
      async listWorkspaces() {
        const rows = await prisma.workspace.findMany({ orderBy: [{ name: 'asc' }, { id: 'asc' }] });
        return rows.map(workspaceFromRow);
      },
      async membershipsOf(orgUserId) {
        const rows = await prisma.workspaceMember.findMany({
          where: { userId: orgUserId },
          orderBy: { workspaceId: 'asc' },
        });
        return rows.map(memberFromRow);
      },
      async listApiKeys() {
        const rows = await prisma.apiKey.findMany({
          orderBy: [{ createdAt: { sort: 'desc', nulls: 'last' } }, { id: 'asc' }],
        });
        return rows.map(apiKeyFromRow);
      },
    },

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
      async list({ limit, offset = 0 }) {
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

    async close() {
      await auditWriter.flush();
      await prisma.$disconnect();
    },
  };
}
