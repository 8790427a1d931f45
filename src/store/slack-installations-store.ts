/**
 * Slack OAuth installations over Prisma. The installation JSON arrives already encrypted (src/slack/installation-store.ts)
 * and is stored as an opaque string; only the lookup columns are plain.
 */
import type { SlackInstallationRecord, Store } from '../core/ports/store.js';
import type { PrismaClient } from '../generated/sqlite/client.js';

export function slackInstallationStore(prisma: PrismaClient): Pick<Store, 'slackInstallations'> {
  return {
    slackInstallations: {
      async save(record) {
        const row = { ...record, scopes: record.scopes.join(',') };
        await prisma.slackInstallation.upsert({ where: { key: record.key }, create: row, update: row });
      },
      async find(key) {
        const r = await prisma.slackInstallation.findUnique({ where: { key } });
        if (!r) return null;
        const record: SlackInstallationRecord = {
          key: r.key,
          teamId: r.teamId,
          enterpriseId: r.enterpriseId,
          botUserId: r.botUserId,
          scopes: r.scopes ? r.scopes.split(',') : [],
          installedAt: r.installedAt,
          ciphertext: r.ciphertext,
        };
        return record;
      },
      async delete(key) {
        const { count } = await prisma.slackInstallation.deleteMany({ where: { key } });
        return count > 0;
      },
    },
  };
}
