/**
 * Approvals, grants, key bindings and job leases over Prisma. The exactly-once guarantees live here, as
 * conditional updates inside transactions:
 *  - a vote first bumps the request's `version` WHERE status = 'pending': on PostgreSQL that UPDATE takes the
 *    row lock, so concurrent voters run one after another and each sees the votes committed before it; on
 *    SQLite the write lock does the same;
 *  - a vote after the request's expiry time never counts: the same UPDATE requires expires_at > the vote's time,
 *    and when only that fails the transaction closes the request as expired;
 *  - the outbox claim moves approved → executing only if the row is still as it was read (attempts as version);
 *    renewing, finishing and retrying are fenced on that claim (status executing AND the claim's attempts), so a
 *    runner whose lease lapsed and was taken over cannot overwrite or re-report the new runner's outcome.
 */
import { randomBytes } from 'node:crypto';
import { DomainError } from '../core/errors.js';
import type {
  AccessGrant,
  ApprovalCardRef,
  ApprovalRequest,
  ApprovalStatus,
  ApprovalVote,
  KeyBinding,
  Platform,
  Store,
  VoteOutcome,
} from '../core/ports/store.js';
import type { Prisma, PrismaClient } from '../generated/sqlite/client.js';

type Tx = Prisma.TransactionClient;
type Row<M extends keyof PrismaClient> = PrismaClient[M] extends { findFirstOrThrow(...a: any[]): Promise<infer R> }
  ? R
  : never;

const TX_OPTIONS = { maxWait: 30_000, timeout: 60_000 };
/** Crockford base32 without look-alikes: ids people can read out and type. */
const ALPHABET = '23456789ABCDEFGHJKMNPQRSTVWXYZ';

export function newRequestId(): string {
  const bytes = randomBytes(8);
  let id = '';
  for (const b of bytes) id += ALPHABET[b % ALPHABET.length];
  return id;
}

const json = (v: unknown) => v as Prisma.InputJsonValue;

export const requestFromRow = (r: Row<'approvalRequest'>): ApprovalRequest => ({
  id: r.id,
  kind: r.kind,
  status: r.status as ApprovalStatus,
  requester: {
    platform: r.requesterPlatform as Platform,
    teamId: r.requesterTeamId,
    userId: r.requesterUserId,
    orgUserId: r.requesterOrgId,
    email: r.requesterEmail,
  },
  workspaceId: r.workspaceId,
  workspaceName: r.workspaceName,
  payload: (r.payload ?? {}) as Record<string, unknown>,
  reason: r.reason,
  summary: r.summary,
  quorum: r.quorum,
  approvers: (r.approvers ?? {}) as Record<string, unknown>,
  policySource: r.policySource,
  createdAt: r.createdAt,
  expiresAt: r.expiresAt,
  remindedAt: r.remindedAt,
  decidedAt: r.decidedAt,
  decidedBy: r.decidedBy,
  executeAfter: r.executeAfter,
  leaseUntil: r.leaseUntil,
  attempts: r.attempts,
  executedAt: r.executedAt,
  result: (r.result ?? null) as Record<string, unknown> | null,
  error: r.error,
});

const voteFromRow = (r: Row<'approvalVote'>): ApprovalVote => ({
  requestId: r.requestId,
  voterOrgId: r.voterOrgId,
  voterEmail: r.voterEmail,
  platform: r.platform as Platform,
  userId: r.userId,
  choice: r.choice as ApprovalVote['choice'],
  at: r.at,
});

const grantFromRow = (r: Row<'accessGrant'>): AccessGrant => ({
  id: r.id,
  requestId: r.requestId,
  kind: r.kind as AccessGrant['kind'],
  orgUserId: r.orgUserId,
  workspaceId: r.workspaceId,
  previousRole: r.previousRole,
  grantedRole: r.grantedRole,
  grantedAt: r.grantedAt,
  expiresAt: r.expiresAt,
  status: r.status as AccessGrant['status'],
  boundKeyId: r.boundKeyId,
  revokedAt: r.revokedAt,
  note: r.note,
});

const bindingFromRow = (r: Row<'keyBinding'>): KeyBinding => ({
  keyId: r.keyId,
  requestId: r.requestId,
  ownerOrgId: r.ownerOrgId,
  approverOrgId: r.approverOrgId,
  workspaceId: r.workspaceId,
  boundAt: r.boundAt,
  expiresAt: r.expiresAt,
  replacesKeyId: r.replacesKeyId,
  replacedAt: r.replacedAt,
  expiryEnforcedAt: r.expiryEnforcedAt,
});

const isUniqueViolation = (e: unknown): boolean =>
  typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'P2002';

export function approvalStores(prisma: PrismaClient): Pick<Store, 'approvals' | 'grants' | 'keyBindings' | 'leases'> {
  const votesOf = async (tx: Tx | PrismaClient, requestId: string) =>
    (await tx.approvalVote.findMany({ where: { requestId }, orderBy: { at: 'asc' } })).map(voteFromRow);

  return {
    approvals: {
      async create(input) {
        for (let attempt = 0; ; attempt++) {
          try {
            const r = await prisma.approvalRequest.create({
              data: {
                id: newRequestId(),
                kind: input.kind,
                status: input.status ?? 'pending',
                requesterPlatform: input.requester.platform,
                requesterTeamId: input.requester.teamId,
                requesterUserId: input.requester.userId,
                requesterOrgId: input.requester.orgUserId,
                requesterEmail: input.requester.email,
                workspaceId: input.workspaceId,
                workspaceName: input.workspaceName,
                payload: json(input.payload),
                reason: input.reason,
                summary: input.summary,
                quorum: input.quorum,
                approvers: json(input.approvers),
                policySource: input.policySource,
                createdAt: input.createdAt,
                expiresAt: input.expiresAt,
                ...(input.status === 'approved'
                  ? { decidedAt: input.createdAt, decidedBy: input.requester.orgUserId, executeAfter: input.createdAt }
                  : {}),
              },
            });
            return requestFromRow(r);
          } catch (e) {
            // 30^8 ids: a collision is astronomically rare, but retrying is cheaper than reasoning about it.
            if (!isUniqueViolation(e) || attempt > 3) throw e;
          }
        }
      },
      async get(id) {
        const r = await prisma.approvalRequest.findUnique({ where: { id: id.toUpperCase() } });
        return r ? requestFromRow(r) : null;
      },
      async list(filter) {
        const rows = await prisma.approvalRequest.findMany({
          where: {
            ...(filter.statuses ? { status: { in: filter.statuses } } : {}),
            ...(filter.requesterOrgId ? { requesterOrgId: filter.requesterOrgId } : {}),
            ...(filter.kinds ? { kind: { in: filter.kinds } } : {}),
          },
          orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
          take: filter.limit,
        });
        return rows.map(requestFromRow);
      },
      async countByStatus() {
        const groups = await prisma.approvalRequest.groupBy({ by: ['status'], _count: { _all: true } });
        return Object.fromEntries(groups.map((g) => [g.status, g._count._all]));
      },
      votes(requestId) {
        return votesOf(prisma, requestId);
      },
      async vote(v, quorum): Promise<VoteOutcome> {
        return prisma.$transaction(async (tx) => {
          const { count } = await tx.approvalRequest.updateMany({
            where: { id: v.requestId, status: 'pending', expiresAt: { gt: v.at } },
            data: { version: { increment: 1 } },
          });
          if (count === 0) {
            // Past its expiry but not yet closed by the expiry job: this click closes it, exactly once.
            const expired = await tx.approvalRequest.updateMany({
              where: { id: v.requestId, status: 'pending', expiresAt: { lte: v.at } },
              data: { status: 'expired', decidedAt: v.at, decidedBy: null, version: { increment: 1 } },
            });
            const row = await tx.approvalRequest.findUnique({ where: { id: v.requestId } });
            if (!row) throw new DomainError('NOT_FOUND', `There is no request ${v.requestId}.`);
            return {
              vote: 'closed',
              request: requestFromRow(row),
              votes: await votesOf(tx, v.requestId),
              transitioned: expired.count === 1 ? 'expired' : null,
            };
          }
          const row = await tx.approvalRequest.findUnique({ where: { id: v.requestId } });
          if (!row) throw new DomainError('NOT_FOUND', `There is no request ${v.requestId}.`);
          const existing = await tx.approvalVote.findUnique({
            where: { requestId_voterOrgId: { requestId: v.requestId, voterOrgId: v.voterOrgId } },
          });
          if (existing) {
            return {
              vote: 'duplicate',
              request: requestFromRow(row),
              votes: await votesOf(tx, v.requestId),
              transitioned: null,
            };
          }
          await tx.approvalVote.create({ data: { ...v } });
          const votes = await votesOf(tx, v.requestId);
          let transitioned: VoteOutcome['transitioned'] = null;
          let updated = row;
          if (v.choice === 'deny') {
            updated = await tx.approvalRequest.update({
              where: { id: v.requestId },
              data: { status: 'denied', decidedAt: v.at, decidedBy: v.voterOrgId },
            });
            transitioned = 'denied';
          } else if (votes.filter((x) => x.choice === 'approve').length >= quorum) {
            updated = await tx.approvalRequest.update({
              where: { id: v.requestId },
              data: { status: 'approved', decidedAt: v.at, decidedBy: v.voterOrgId, executeAfter: v.at },
            });
            transitioned = 'approved';
          }
          return { vote: 'recorded', request: requestFromRow(updated), votes, transitioned };
        }, TX_OPTIONS);
      },
      async close(id, to, at, by) {
        const { count } = await prisma.approvalRequest.updateMany({
          where: { id, status: 'pending' },
          data: { status: to, decidedAt: at, decidedBy: by },
        });
        if (count === 0) return null;
        const r = await prisma.approvalRequest.findUnique({ where: { id } });
        return r ? requestFromRow(r) : null;
      },
      async markReminded(id, at) {
        const { count } = await prisma.approvalRequest.updateMany({
          where: { id, status: 'pending', remindedAt: null },
          data: { remindedAt: at },
        });
        return count === 1;
      },
      async pendingExpiringBefore(before) {
        const rows = await prisma.approvalRequest.findMany({
          where: { status: 'pending', expiresAt: { lte: before } },
          orderBy: { expiresAt: 'asc' },
        });
        return rows.map(requestFromRow);
      },
      async addCard(card: ApprovalCardRef) {
        try {
          await prisma.approvalCard.create({ data: card });
        } catch (e) {
          if (!isUniqueViolation(e)) throw e;
        }
      },
      async cards(requestId) {
        const rows = await prisma.approvalCard.findMany({ where: { requestId } });
        return rows.map((r) => ({ ...r, platform: r.platform as Platform }));
      },
      async claimExecution(now, leaseMs) {
        for (let attempt = 0; attempt < 5; attempt++) {
          const candidate = await prisma.approvalRequest.findFirst({
            where: {
              OR: [
                { status: 'approved', OR: [{ executeAfter: null }, { executeAfter: { lte: now } }] },
                // The runner that held this lease died (crash, kill): take the work over.
                { status: 'executing', leaseUntil: { lt: now } },
              ],
            },
            orderBy: [{ decidedAt: 'asc' }, { id: 'asc' }],
          });
          if (!candidate) return null;
          const { count } = await prisma.approvalRequest.updateMany({
            where: { id: candidate.id, status: candidate.status, attempts: candidate.attempts },
            data: { status: 'executing', leaseUntil: new Date(now.getTime() + leaseMs), attempts: { increment: 1 } },
          });
          if (count === 1) {
            const r = await prisma.approvalRequest.findUnique({ where: { id: candidate.id } });
            return r ? requestFromRow(r) : null;
          }
        }
        return null;
      },
      async finishExecution(id, attempts, o) {
        const { count } = await prisma.approvalRequest.updateMany({
          where: { id, status: 'executing', attempts },
          data: {
            status: o.status,
            result: o.result === null ? undefined : json(o.result),
            error: o.error,
            executedAt: o.at,
            leaseUntil: null,
          },
        });
        if (count === 0) return null;
        const r = await prisma.approvalRequest.findUnique({ where: { id } });
        return r ? requestFromRow(r) : null;
      },
      async retryExecution(id, attempts, executeAfter, error) {
        const { count } = await prisma.approvalRequest.updateMany({
          where: { id, status: 'executing', attempts },
          data: { status: 'approved', executeAfter, error, leaseUntil: null },
        });
        return count === 1;
      },
      async renewExecutionLease(id, attempts, until) {
        const { count } = await prisma.approvalRequest.updateMany({
          where: { id, status: 'executing', attempts },
          data: { leaseUntil: until },
        });
        return count === 1;
      },
      async updateResult(id, update) {
        for (;;) {
          const row = await prisma.approvalRequest.findUnique({ where: { id } });
          if (!row) return null;
          const next = update((row.result ?? null) as Record<string, unknown> | null);
          if (next === null) return null;
          // `version` is the row's change counter: the write lands only if nobody changed the row since the read.
          const { count } = await prisma.approvalRequest.updateMany({
            where: { id, version: row.version },
            data: { result: json(next), version: { increment: 1 } },
          });
          if (count === 1) {
            const r = await prisma.approvalRequest.findUnique({ where: { id } });
            return r ? requestFromRow(r) : null;
          }
        }
      },
    },

    grants: {
      async create(g) {
        return grantFromRow(await prisma.accessGrant.create({ data: g }));
      },
      async get(id) {
        const r = await prisma.accessGrant.findUnique({ where: { id } });
        return r ? grantFromRow(r) : null;
      },
      async forRequest(requestId) {
        return (await prisma.accessGrant.findMany({ where: { requestId }, orderBy: { grantedAt: 'asc' } })).map(
          grantFromRow,
        );
      },
      async list(statuses) {
        return (
          await prisma.accessGrant.findMany({ where: { status: { in: statuses } }, orderBy: { grantedAt: 'asc' } })
        ).map(grantFromRow);
      },
      async transition(id, from, to, patch = {}) {
        const { count } = await prisma.accessGrant.updateMany({
          where: { id, status: from },
          data: { status: to, ...patch },
        });
        return count === 1;
      },
    },

    keyBindings: {
      async create(b) {
        return bindingFromRow(await prisma.keyBinding.create({ data: b }));
      },
      async get(keyId) {
        const r = await prisma.keyBinding.findUnique({ where: { keyId } });
        return r ? bindingFromRow(r) : null;
      },
      async list() {
        return (await prisma.keyBinding.findMany({ orderBy: { boundAt: 'asc' } })).map(bindingFromRow);
      },
      async claimExpiry(keyId, at) {
        const { count } = await prisma.keyBinding.updateMany({
          where: at ? { keyId, expiryEnforcedAt: null } : { keyId },
          data: { expiryEnforcedAt: at },
        });
        return count === 1;
      },
      async markReplaced(keyId, at) {
        await prisma.keyBinding.updateMany({ where: { keyId }, data: { replacedAt: at } });
      },
    },

    leases: {
      async acquire(name, holder, until, now) {
        try {
          await prisma.jobLease.create({ data: { name, holder, expiresAt: until } });
          return true;
        } catch (e) {
          if (!isUniqueViolation(e)) throw e;
        }
        const { count } = await prisma.jobLease.updateMany({
          where: { name, OR: [{ holder }, { expiresAt: { lt: now } }] },
          data: { holder, expiresAt: until },
        });
        return count === 1;
      },
      async release(name, holder) {
        await prisma.jobLease.updateMany({ where: { name, holder }, data: { expiresAt: new Date(0) } });
      },
      async renew(name, holder, until) {
        const { count } = await prisma.jobLease.updateMany({ where: { name, holder }, data: { expiresAt: until } });
        return count === 1;
      },
    },
  };
}
