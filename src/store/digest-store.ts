/**
 * Digest subscriptions and deliveries over Prisma. "Sent once" is the DigestDelivery row's primary key
 * (subscriptionId, period): a claim is an INSERT, so of any number of replicas exactly one gets it; a claim left
 * unsent by a holder that died is taken over by a conditional UPDATE (still unsent and claimed before the stale
 * limit), which again only one caller wins on both databases.
 */
import { randomUUID } from 'node:crypto';
import type { DigestSubscription } from '../core/ports/spend.js';
import type { Store } from '../core/ports/store.js';
import type { PrismaClient } from '../generated/sqlite/client.js';

type SubRow = Awaited<ReturnType<PrismaClient['digestSubscription']['findFirstOrThrow']>>;

const isUniqueViolation = (e: unknown): boolean =>
  typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'P2002';

const fromRow = (r: SubRow): DigestSubscription => ({
  id: r.id,
  platform: r.platform as DigestSubscription['platform'],
  teamId: r.teamId,
  channelId: r.channelId,
  cadence: r.cadence as DigestSubscription['cadence'],
  time: r.time,
  timezone: r.timezone,
  weekday: r.weekday,
  createdBy: r.createdBy,
  createdAt: r.createdAt,
});

export function digestStore(prisma: PrismaClient): Pick<Store, 'digests'> {
  return {
    digests: {
      async subscribe(input, now) {
        const key = {
          platform: input.platform,
          teamId: input.teamId,
          channelId: input.channelId,
          cadence: input.cadence,
        };
        // Subscribing again takes the subscription over: it carries the new subscriber's right to receive it.
        const change = {
          time: input.time,
          timezone: input.timezone,
          weekday: input.weekday,
          createdBy: input.createdBy,
        };
        for (let attempt = 0; ; attempt++) {
          const existing = await prisma.digestSubscription.findUnique({
            where: { platform_teamId_channelId_cadence: key },
          });
          if (existing) {
            const r = await prisma.digestSubscription.update({ where: { id: existing.id }, data: change });
            return { subscription: fromRow(r), created: false };
          }
          try {
            const r = await prisma.digestSubscription.create({
              data: { id: randomUUID(), ...key, ...change, createdAt: now },
            });
            return { subscription: fromRow(r), created: true };
          } catch (e) {
            // A concurrent subscribe created it first: change that one.
            if (!isUniqueViolation(e) || attempt >= 3) throw e;
          }
        }
      },

      async unsubscribe(where, cadence) {
        return prisma.$transaction(async (tx) => {
          const rows = await tx.digestSubscription.findMany({ where: { ...where, ...(cadence ? { cadence } : {}) } });
          if (rows.length === 0) return [];
          const ids = rows.map((r) => r.id);
          await tx.digestDelivery.deleteMany({ where: { subscriptionId: { in: ids } } });
          await tx.digestSubscription.deleteMany({ where: { id: { in: ids } } });
          return rows.map(fromRow);
        });
      },

      async list(where) {
        const rows = await prisma.digestSubscription.findMany({
          where: where ?? {},
          orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        });
        return rows.map(fromRow);
      },

      async claim(subscriptionId, period, holder, now, staleAfterMs) {
        try {
          await prisma.digestDelivery.create({
            data: { subscriptionId, period, holder, claimedAt: now, sentAt: null },
          });
          return true;
        } catch (e) {
          if (!isUniqueViolation(e)) throw e;
        }
        const { count } = await prisma.digestDelivery.updateMany({
          where: { subscriptionId, period, sentAt: null, claimedAt: { lt: new Date(now.getTime() - staleAfterMs) } },
          data: { holder, claimedAt: now },
        });
        return count === 1;
      },

      async markSent(subscriptionId, period, holder, at) {
        const { count } = await prisma.digestDelivery.updateMany({
          where: { subscriptionId, period, holder, sentAt: null },
          data: { sentAt: at },
        });
        return count === 1;
      },

      async release(subscriptionId, period, holder) {
        await prisma.digestDelivery.deleteMany({ where: { subscriptionId, period, holder, sentAt: null } });
      },

      async delivery(subscriptionId, period) {
        return prisma.digestDelivery.findUnique({ where: { subscriptionId_period: { subscriptionId, period } } });
      },
    },
  };
}
