/**
 * Identity links, served from memory. Every command resolves its caller's link, so instead of a query per command
 * the process keeps a copy of the whole table (a few hundred bytes a link) and knows it is current by one
 * primary-key read of the `links` change counter, at most every LINKS_CHECK_MS and shared by the commands that
 * arrive meanwhile. Database triggers (migration change_counter) bump the counter once per inserted, updated or
 * deleted link, whoever writes it (this process, the CLI's `link`, another replica, an older version, an operator's
 * SQL), so:
 *   - a write made by this process is applied to the copy at once (when nothing else changed the table meanwhile);
 *   - any other change is seen within LINKS_CHECK_MS: the counter moved, the copy is read again;
 *   - a chat account the copy has no link for is looked up in the database before it is called unlinked, so a link
 *     made elsewhere a moment ago works at once (only an unlink or relink elsewhere can take LINKS_CHECK_MS).
 * The counter is read before the rows, so a copy is never labelled newer than what it holds; a write of this process
 * that finishes while a reload is under way makes the reloaded copy be checked again at the next find.
 */
import type { IdentityLink, Platform, Store } from '../core/ports/store.js';
import { nextTurn } from '../core/turn.js';
import type { PrismaClient } from '../generated/sqlite/client.js';

type MapErrors = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

/** How long the copy is used without asking whether the table changed (a change elsewhere takes effect within). */
export const LINKS_CHECK_MS = 1_000;

/** A link write waits its turn like the store's other writes (a large sync may hold SQLite's lock a while). */
const TX_OPTIONS = { maxWait: 60_000, timeout: 60_000 };

const COUNTER = 'links';
/** Links read per statement when the copy is (re)loaded. */
const LOAD_PAGE = 250;

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

export function linksStore(prisma: PrismaClient, mapErrors: MapErrors): Store['links'] {
  let links: Map<string, IdentityLink> | null = null;
  let version = -1;
  let checkedAt = Number.NEGATIVE_INFINITY;
  let checking: Promise<Map<string, IdentityLink>> | null = null;
  /** Writes this process finished: a reload that saw one finish meanwhile cannot vouch for its copy. */
  let localWrites = 0;

  const readVersion = async (db: Pick<PrismaClient, 'changeCounter'> = prisma): Promise<number> => {
    const row = await db.changeCounter.findUnique({ where: { name: COUNTER } });
    return row?.version ?? 0;
  };

  const current = (): Promise<Map<string, IdentityLink>> => {
    if (links && performance.now() - checkedAt < LINKS_CHECK_MS) return Promise.resolve(links);
    checking ??= (async () => {
      try {
        const started = performance.now();
        const writesBefore = localWrites;
        const v = await readVersion();
        if (!links || v !== version) {
          // In pages by primary key with a turn of the event loop between them: 10,000 links read at once would hold
          // it for a noticeable while (rows changed meanwhile move the counter, so the next check reads again).
          const next = new Map<string, IdentityLink>();
          let after: { platform: string; teamId: string; userId: string } | undefined;
          for (;;) {
            const rows = await prisma.identityLink.findMany({
              orderBy: [{ platform: 'asc' }, { teamId: 'asc' }, { userId: 'asc' }],
              take: LOAD_PAGE,
              ...(after ? { cursor: { platform_teamId_userId: after }, skip: 1 } : {}),
            });
            for (const r of rows) next.set(keyOf(r.platform, r.teamId, r.userId), linkFromRow(r));
            const last = rows.at(-1);
            if (!last || rows.length < LOAD_PAGE) break;
            after = { platform: last.platform, teamId: last.teamId, userId: last.userId };
            await nextTurn();
          }
          links = next;
          version = v;
        }
        // A write of this process finished while the rows were read: they may predate it, so check again next time.
        checkedAt = localWrites === writesBefore ? started : Number.NEGATIVE_INFINITY;
        return links;
      } finally {
        checking = null;
      }
    })();
    return checking;
  };

  /**
   * After this process's own write, with the counter as read inside its transaction (`after`): less the rows the
   * write changed (one trigger bump each), that is what the counter was before it. When that is the copy's version,
   * nothing else changed the table in between and the write is applied to the copy; otherwise the copy is read
   * again at the next find.
   */
  const wrote = (after: number, changed: number, apply: (m: Map<string, IdentityLink>) => void) => {
    localWrites++;
    if (links && !checking && after - changed === version) {
      apply(links);
      version = after;
    } else {
      checkedAt = Number.NEGATIVE_INFINITY;
    }
  };

  return {
    async find(platform, teamId, userId) {
      const link = (await current()).get(keyOf(platform, teamId, userId));
      if (link) return copy(link);
      // Not in the copy: asked of the database itself, so someone linked a moment ago (by the CLI's `link`, on
      // another replica) is never told they are not linked. Only someone not linked at all pays for the query.
      const row = await prisma.identityLink.findUnique({
        where: { platform_teamId_userId: { platform, teamId, userId } },
      });
      if (!row) return null;
      checkedAt = Number.NEGATIVE_INFINITY;
      return linkFromRow(row);
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
      const [r, after] = await mapErrors('Linking this account', () =>
        prisma.$transaction(async (tx) => {
          const written = await tx.identityLink.upsert({
            where: { platform_teamId_userId: { platform: link.platform, teamId: link.teamId, userId: link.userId } },
            create: row,
            update: row,
          });
          return [written, await readVersion(tx)] as const;
        }, TX_OPTIONS),
      );
      const stored = linkFromRow(r);
      wrote(after, 1, (m) => m.set(keyOf(stored.platform, stored.teamId, stored.userId), stored));
      return copy(stored);
    },
    async remove(platform, teamId, userId) {
      const [count, after] = await prisma.$transaction(async (tx) => {
        const { count } = await tx.identityLink.deleteMany({ where: { platform, teamId, userId } });
        return [count, await readVersion(tx)] as const;
      }, TX_OPTIONS);
      wrote(after, count, (m) => m.delete(keyOf(platform, teamId, userId)));
      return count > 0;
    },
    async preload() {
      await current();
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
