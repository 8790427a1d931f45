/**
 * This process's own link writes against a reload of the copy already in flight (found in review): the reload
 * reads the counter, then the rows; a write that commits after the rows were read must not be undone by the reload
 * installing rows without it. The interleaving cannot be forced on a real database, so the database here is a fake
 * that holds the reload's rows until released, and bumps the counter on every write as the migration's triggers do.
 */
import { describe, expect, it } from 'vitest';
import type { IdentityLink } from '../../src/core/ports/store.js';
import { linksStore } from '../../src/store/links-store.js';

type Row = Omit<IdentityLink, 'platform'> & { platform: string; emailLower: string };
const key = (r: { platform: string; teamId: string; userId: string }) => `${r.platform}|${r.teamId}|${r.userId}`;
const row = (userId: string, orgUserId: string): Row => ({
  platform: 'slack',
  teamId: 'T1',
  userId,
  orgUserId,
  email: `${orgUserId}@example.com`,
  emailLower: `${orgUserId}@example.com`,
  method: 'operator',
  linkedAt: new Date('2026-11-01T00:00:00Z'),
  refreshedAt: new Date('2026-11-01T00:00:00Z'),
});

/** A database with one IdentityLink table and the counter; findMany can be held to order it against a write. */
function fakeDb() {
  const table = new Map<string, Row>();
  let counter = 0;
  let hold: { snapshot: Row[]; release: () => void; released: Promise<void> } | null = null;
  const tx = {
    identityLink: {
      async deleteMany({ where }: { where: { platform: string; teamId: string; userId: string } }) {
        const deleted = table.delete(key(where));
        if (deleted) counter++; // the delete trigger
        return { count: deleted ? 1 : 0 };
      },
      async upsert({ create }: { create: Row }) {
        table.set(key(create), { ...create });
        counter++; // the insert or update trigger
        return { ...create };
      },
    },
    changeCounter: { findUnique: async () => ({ name: 'links', version: counter }) },
  };
  const prisma = {
    changeCounter: { findUnique: async () => ({ name: 'links', version: counter }) },
    identityLink: {
      async findUnique({
        where,
      }: {
        where: { platform_teamId_userId: { platform: string; teamId: string; userId: string } };
      }) {
        const r = table.get(key(where.platform_teamId_userId));
        return r ? { ...r } : null;
      },
      async findMany() {
        const snapshot = [...table.values()].map((r) => ({ ...r }));
        if (!hold) return snapshot;
        // the rows are read now; the answer reaches the store only when released
        const h = hold;
        h.snapshot = snapshot;
        await h.released;
        return snapshot;
      },
    },
    $transaction: async (fn: (t: typeof tx) => Promise<unknown>) => fn(tx),
  } as unknown as Parameters<typeof linksStore>[0];
  return {
    prisma,
    /** Another process's write: the row and its bump. */
    otherProcess(r: Row) {
      table.set(key(r), r);
      counter++;
    },
    holdNextRead() {
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      hold = { snapshot: [], release, released };
      return () => {
        hold = null;
        release();
      };
    },
  };
}

const mapErrors = <T>(_what: string, fn: () => Promise<T>) => fn();
const tick = () => new Promise((r) => setImmediate(r));

describe('links copy: own write during a reload already in flight', () => {
  it("this process's unlink is not undone by a reload that read the rows just before it", async () => {
    const db = fakeDb();
    const links = linksStore(db.prisma, mapErrors);
    await links.upsert({ ...row('U1', 'user_victim'), platform: 'slack' } as IdentityLink);
    expect(await links.find('slack', 'T1', 'U1')).toMatchObject({ orgUserId: 'user_victim' });

    // Another replica links someone else; a second later a command here starts the reload that notices it.
    db.otherProcess(row('U2', 'user_other'));
    await new Promise((r) => setTimeout(r, 1_050));
    const release = db.holdNextRead();
    const reloading = links.find('slack', 'T1', 'U2');
    await tick(); // the reload has read the counter and the rows (U1 still linked) ...

    // ... and meanwhile an admin's `/qm unlink user:@U1` on this very process commits.
    expect(await links.remove('slack', 'T1', 'U1')).toBe(true);
    release();
    await reloading;

    // The next command of U1, a moment later on the same process:
    expect(await links.find('slack', 'T1', 'U1')).toBeNull();
  });

  it("this process's relink is not replaced by the old member from a reload in flight", async () => {
    const db = fakeDb();
    const links = linksStore(db.prisma, mapErrors);
    await links.upsert({ ...row('U1', 'user_old') } as IdentityLink);
    await links.find('slack', 'T1', 'U1');
    db.otherProcess(row('U2', 'user_other'));
    await new Promise((r) => setTimeout(r, 1_050));
    const release = db.holdNextRead();
    const reloading = links.find('slack', 'T1', 'U2');
    await tick();
    await links.upsert({ ...row('U1', 'user_new') } as IdentityLink);
    release();
    await reloading;
    expect(await links.find('slack', 'T1', 'U1')).toMatchObject({ orgUserId: 'user_new' });
  });
});
