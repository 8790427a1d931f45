/**
 * Identity links, served from memory. Every command resolves its caller's link, so instead of a query per command
 * the process keeps a copy of the whole table (a few hundred bytes a link) and knows it is current by one
 * primary-key read of the `links` change counter, at most every LINKS_CHECK_MS and shared by the commands that
 * arrive meanwhile. Every write (here or in another process: the CLI's `link`, another replica) bumps the counter in
 * the same transaction as the write, so:
 *   - a write made by this process is applied to the copy at once (when its bump is the next version);
 *   - a write made elsewhere is seen within LINKS_CHECK_MS: the counter moved, the copy is read again.
 * The counter is read before the rows, so a copy is never labelled newer than what it holds.
 */
import type { IdentityLink, Platform, Store } from '../core/ports/store.js';
import type { PrismaClient } from '../generated/sqlite/client.js';

type Provider = 'sqlite' | 'postgres';
type MapErrors = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

/** How long the copy is used without asking whether the table changed (an unlink elsewhere takes effect within). */
export const LINKS_CHECK_MS = 1_000;

const COUNTER = 'links';

interface LinkRow {
  platform: string;
  teamId: string;
  userId: string;
  orgUserId: string;
  email: string;
  method: string;
  linkedAt: Date | string | number;
  refreshedAt: Date | string | number;
}

const keyOf = (platform: string, teamId: string, userId: string) => `${platform}\u0000${teamId}\u0000${userId}`;

const linkFromRow = (r: LinkRow): IdentityLink => ({
  platform: r.platform as Platform,
  teamId: r.teamId,
  userId: r.userId,
  orgUserId: r.orgUserId,
  email: r.email,
  method: r.method,
  linkedAt: new Date(r.linkedAt),
  refreshedAt: new Date(r.refreshedAt),
});

const copy = (l: IdentityLink): IdentityLink => ({
  ...l,
  linkedAt: new Date(l.linkedAt),
  refreshedAt: new Date(l.refreshedAt),
});

const BUMP_SQL: Record<Provider, string> = {
  sqlite: `INSERT INTO "ChangeCounter" ("name", "version") VALUES ('${COUNTER}', 1) ON CONFLICT ("name") DO UPDATE SET "version" = "ChangeCounter"."version" + 1 RETURNING "version"`,
  postgres: `INSERT INTO "ChangeCounter" ("name", "version") VALUES ('${COUNTER}', 1) ON CONFLICT ("name") DO UPDATE SET "version" = "ChangeCounter"."version" + 1 RETURNING "version"`,
};

export function linksStore(prisma: PrismaClient, provider: Provider, mapErrors: MapErrors): Store['links'] {
  let links: Map<string, IdentityLink> | null = null;
  let version = -1;
  let checkedAt = 0;
  let checking: Promise<Map<string, IdentityLink>> | null = null;

  const readVersion = async (): Promise<number> => {
    const row = await prisma.changeCounter.findUnique({ where: { name: COUNTER } });
    return row?.version ?? 0;
  };

  const current = (): Promise<Map<string, IdentityLink>> => {
    if (links && performance.now() - checkedAt < LINKS_CHECK_MS) return Promise.resolve(links);
    checking ??= (async () => {
      try {
        const started = performance.now();
        const v = await readVersion();
        if (!links || v !== version) {
          const rows = await prisma.identityLink.findMany();
          const next = new Map<string, IdentityLink>();
          for (const r of rows) next.set(keyOf(r.platform, r.teamId, r.userId), linkFromRow(r));
          links = next;
          version = v;
        }
        checkedAt = started;
        return links;
      } finally {
        checking = null;
      }
    })();
    return checking;
  };

  /** After this process's own write: applied to the copy when its bump is the very next version, else reread. */
  const wrote = (bumped: number, apply: (m: Map<string, IdentityLink>) => void) => {
    if (links && bumped === version + 1) {
      apply(links);
      version = bumped;
    } else {
      checkedAt = 0;
    }
  };

  const bump = async (tx: Pick<PrismaClient, '$queryRawUnsafe'>): Promise<number> => {
    const [row] = await tx.$queryRawUnsafe<{ version: number | bigint }[]>(BUMP_SQL[provider]);
    return Number(row?.version ?? 0);
  };

  return {
    async find(platform, teamId, userId) {
      const link = (await current()).get(keyOf(platform, teamId, userId));
      return link ? copy(link) : null;
    },
    async upsert(link) {
      const row = {
        platform: link.platform,
        teamId: link.teamId,
        userId: link.userId,
        orgUserId: link.orgUserId,
        email: link.email,
        emailLower: link.email.trim().toLowerCase(),
        method: link.method,
        linkedAt: link.linkedAt,
        refreshedAt: link.refreshedAt,
      };
      const [r, bumped] = await mapErrors('Linking this account', () =>
        prisma.$transaction(async (tx) => {
          const written = await tx.identityLink.upsert({
            where: { platform_teamId_userId: { platform: link.platform, teamId: link.teamId, userId: link.userId } },
            create: row,
            update: row,
          });
          return [written, await bump(tx)] as const;
        }),
      );
      const stored = linkFromRow(r);
      wrote(bumped, (m) => m.set(keyOf(stored.platform, stored.teamId, stored.userId), stored));
      return copy(stored);
    },
    async remove(platform, teamId, userId) {
      const [count, bumped] = await prisma.$transaction(async (tx) => {
        const { count } = await tx.identityLink.deleteMany({ where: { platform, teamId, userId } });
        // Nothing removed, nothing changed: no bump, the copies stay valid.
        return [count, count > 0 ? await bump(tx) : null] as const;
      });
      if (bumped !== null) wrote(bumped, (m) => m.delete(keyOf(platform, teamId, userId)));
      return count > 0;
    },
    async listForOrgUser(orgUserId) {
      const rows = await prisma.identityLink.findMany({
        where: { orgUserId },
        orderBy: [{ platform: 'asc' }, { teamId: 'asc' }, { userId: 'asc' }],
      });
      return rows.map(linkFromRow);
    },
  };
}
