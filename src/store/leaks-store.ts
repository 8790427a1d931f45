/**
 * Leak incidents, sightings, webhook deliveries and server secrets over Prisma (issue 11). Nothing here holds a
 * secret: an incident keeps the key hint and a keyed fingerprint.
 *
 * "Exactly one caller" is an INSERT on a unique key (the others get P2002) or a conditional UPDATE whose WHERE only
 * the state before the change satisfies (updateMany is one UPDATE statement), as in limits-store.ts. A sighting
 * is recorded in one transaction that inserts the sighting (unique sourceKey) and then creates or joins the
 * incident (unique fingerprint): on PostgreSQL a concurrent INSERT of the same unique value waits for the other
 * transaction and then fails, so the loser rolls back and retries (and joins); SQLite runs writes one at a time.
 */
import { randomBytes } from 'node:crypto';
import type { IncidentStatus, LeakIncident, LeakSighting, LeakSource } from '../core/ports/leaks.js';
import type { Store } from '../core/ports/store.js';
import type { PrismaClient } from '../generated/sqlite/client.js';
import { newRequestId } from './approvals-store.js';

type Row<M extends keyof PrismaClient> = PrismaClient[M] extends { findFirstOrThrow(...a: any[]): Promise<infer R> }
  ? R
  : never;

const isUniqueViolation = (e: unknown): boolean =>
  typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'P2002';

const TX_OPTIONS = { maxWait: 30_000, timeout: 60_000 };

/** A losing concurrent creator retries (and then joins); an id collision (30^8 ids) retries too. */
const MAX_ATTEMPTS = 8;

const incidentFromRow = (r: Row<'leakIncident'>): LeakIncident => ({
  id: r.id,
  fingerprint: r.fingerprint,
  hint: r.hint,
  kind: r.kind as LeakIncident['kind'],
  apiKeyId: r.apiKeyId,
  apiKeyName: r.apiKeyName,
  workspaceId: r.workspaceId,
  status: r.status as IncidentStatus,
  autoDeactivated: r.autoDeactivated,
  firstSeenAt: r.firstSeenAt,
  lastSeenAt: r.lastSeenAt,
  sightingCount: r.sightingCount,
  closedAt: r.closedAt,
  closedBy: r.closedBy,
  closeReason: r.closeReason,
  card:
    r.platform && r.teamId !== null && r.channelId && r.messageId
      ? {
          platform: r.platform as 'slack' | 'discord',
          teamId: r.teamId,
          channelId: r.channelId,
          messageId: r.messageId,
        }
      : null,
});

const sightingFromRow = (r: Row<'leakSighting'>): LeakSighting => ({
  incidentId: r.incidentId,
  source: r.source as LeakSource,
  sourceKey: r.sourceKey,
  location: r.location,
  url: r.url,
  actor: r.actor,
  seenAt: r.seenAt,
});

export function leaksStore(prisma: PrismaClient): Pick<Store, 'leaks'> {
  const secrets = new Map<string, string>();

  const incidentOfSighting = async (sourceKey: string): Promise<LeakIncident | null> => {
    const s = await prisma.leakSighting.findUnique({ where: { sourceKey } });
    if (!s) return null;
    const r = await prisma.leakIncident.findUnique({ where: { id: s.incidentId } });
    return r ? incidentFromRow(r) : null;
  };

  return {
    leaks: {
      async serverSecret(name) {
        const cached = secrets.get(name);
        if (cached) return cached;
        let row = await prisma.serverSecret.findUnique({ where: { name } });
        if (!row) {
          try {
            row = await prisma.serverSecret.create({
              data: { name, value: randomBytes(32).toString('base64url'), createdAt: new Date() },
            });
          } catch (e) {
            // Another replica made it first: use theirs.
            if (!isUniqueViolation(e)) throw e;
            row = await prisma.serverSecret.findUniqueOrThrow({ where: { name } });
          }
        }
        secrets.set(name, row.value);
        return row.value;
      },

      async recordSighting(input, sighting) {
        for (let attempt = 1; ; attempt++) {
          const known = await incidentOfSighting(sighting.sourceKey);
          if (known) return { incident: known, created: false, duplicate: true };
          try {
            return await prisma.$transaction(async (tx) => {
              const existing = await tx.leakIncident.findUnique({ where: { fingerprint: input.fingerprint } });
              const id = existing?.id ?? newRequestId();
              await tx.leakSighting.create({
                data: {
                  incidentId: id,
                  source: sighting.source,
                  sourceKey: sighting.sourceKey,
                  location: sighting.location,
                  url: sighting.url,
                  actor: sighting.actor,
                  seenAt: sighting.seenAt,
                },
              });
              if (existing) {
                await tx.leakIncident.updateMany({ where: { id }, data: { sightingCount: { increment: 1 } } });
                await tx.leakIncident.updateMany({
                  where: { id, lastSeenAt: { lt: sighting.seenAt } },
                  data: { lastSeenAt: sighting.seenAt },
                });
                const r = await tx.leakIncident.findUniqueOrThrow({ where: { id } });
                return { incident: incidentFromRow(r), created: false, duplicate: false };
              }
              const r = await tx.leakIncident.create({
                data: {
                  id,
                  fingerprint: input.fingerprint,
                  hint: input.hint,
                  kind: input.kind,
                  apiKeyId: input.apiKeyId,
                  apiKeyName: input.apiKeyName,
                  workspaceId: input.workspaceId,
                  status: 'open',
                  autoDeactivated: false,
                  firstSeenAt: sighting.seenAt,
                  lastSeenAt: sighting.seenAt,
                  sightingCount: 1,
                },
              });
              return { incident: incidentFromRow(r), created: true, duplicate: false };
            }, TX_OPTIONS);
          } catch (e) {
            // The same sourceKey (a duplicate: seen at the top of the next attempt), the same fingerprint
            // created concurrently (the next attempt joins it), or an id collision (the next attempt draws again).
            if (!isUniqueViolation(e) || attempt >= MAX_ATTEMPTS) throw e;
          }
        }
      },

      async get(id) {
        const r = await prisma.leakIncident.findUnique({ where: { id: id.trim().toUpperCase() } });
        return r ? incidentFromRow(r) : null;
      },

      async findByFingerprint(fingerprint) {
        const r = await prisma.leakIncident.findUnique({ where: { fingerprint } });
        return r ? incidentFromRow(r) : null;
      },

      async list(filter) {
        const where = filter.open ? { status: 'open' } : {};
        const [rows, total] = await Promise.all([
          prisma.leakIncident.findMany({
            where,
            orderBy: [{ lastSeenAt: 'desc' }, { id: 'asc' }],
            take: filter.limit,
            skip: filter.offset ?? 0,
          }),
          prisma.leakIncident.count({ where }),
        ]);
        return { incidents: rows.map(incidentFromRow), total };
      },

      async sightings(incidentId) {
        const rows = await prisma.leakSighting.findMany({
          where: { incidentId },
          orderBy: [{ seenAt: 'asc' }, { id: 'asc' }],
        });
        return rows.map(sightingFromRow);
      },

      async firstSeenBetween(from, to) {
        const rows = await prisma.leakIncident.findMany({
          where: { firstSeenAt: { gte: from, lt: to } },
          orderBy: [{ firstSeenAt: 'asc' }, { id: 'asc' }],
        });
        return rows.map(incidentFromRow);
      },

      async transition(id, from, to, change) {
        const closing = to !== 'open';
        const { count } = await prisma.leakIncident.updateMany({
          where: { id, status: { in: [...from] } },
          data: {
            status: to,
            closedAt: closing ? change.at : null,
            closedBy: closing ? change.by : null,
            closeReason: closing ? (change.reason ?? null) : null,
            ...(change.autoDeactivated !== undefined ? { autoDeactivated: change.autoDeactivated } : {}),
          },
        });
        if (count !== 1) return null;
        const r = await prisma.leakIncident.findUnique({ where: { id } });
        return r ? incidentFromRow(r) : null;
      },

      async setCard(id, card) {
        await prisma.leakIncident.updateMany({
          where: { id },
          data: { platform: card.platform, teamId: card.teamId, channelId: card.channelId, messageId: card.messageId },
        });
      },

      async firstDelivery(id, at) {
        try {
          await prisma.webhookDelivery.create({ data: { id, receivedAt: at } });
          return true;
        } catch (e) {
          if (isUniqueViolation(e)) return false;
          throw e;
        }
      },
    },
  };
}
