/**
 * Identity links are served from a copy in memory (issue 8: a command costs no link query), kept current by the
 * `links` change counter: this process's writes show at once, another process's within LINKS_CHECK_MS.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { IdentityLink, Store } from '../../src/core/ports/store.js';
import { openStore } from '../../src/store/index.js';
import { LINKS_CHECK_MS } from '../../src/store/links-store.js';
import { createTestDatabase, type TestDatabase, testProvider } from '../support/db.js';
import { querySql } from '../support/sql.js';

let db: TestDatabase;
/** A second process's store on the same database (the CLI's `link`, another replica). */
let other: Store;
beforeAll(async () => {
  db = await createTestDatabase();
  other = await openStore(db.url);
});
afterAll(async () => {
  await other?.close();
  await db?.drop();
});

const link = (userId: string, orgUserId: string): IdentityLink => ({
  platform: 'slack',
  teamId: 'T1',
  userId,
  orgUserId,
  email: `${orgUserId}@example.com`,
  method: 'operator',
  linkedAt: new Date('2026-11-01T00:00:00Z'),
  refreshedAt: new Date('2026-11-01T00:00:00Z'),
});

const waitFor = <T>(fn: () => Promise<T>) => vi.waitFor(fn, { timeout: LINKS_CHECK_MS * 10, interval: 50 });

describe('identity links served from memory', () => {
  it("shows this process's own writes at once", async () => {
    expect(await db.store.links.find('slack', 'T1', 'U1')).toBeNull();
    await db.store.links.upsert(link('U1', 'user_a'));
    expect(await db.store.links.find('slack', 'T1', 'U1')).toMatchObject({ orgUserId: 'user_a' });
    await db.store.links.upsert(link('U1', 'user_b'));
    expect(await db.store.links.find('slack', 'T1', 'U1')).toMatchObject({ orgUserId: 'user_b' });
    expect(await db.store.links.remove('slack', 'T1', 'U1')).toBe(true);
    expect(await db.store.links.find('slack', 'T1', 'U1')).toBeNull();
  });

  it("sees another process's link, relink and unlink within the check interval", async () => {
    expect(await db.store.links.find('slack', 'T1', 'U2')).toBeNull();
    await other.links.upsert(link('U2', 'user_c'));
    // A new link is seen at once: a caller the copy does not know is looked up in the database.
    expect(await db.store.links.find('slack', 'T1', 'U2')).toMatchObject({ orgUserId: 'user_c' });
    await waitFor(async () =>
      expect(await db.store.links.find('slack', 'T1', 'U2')).toMatchObject({ orgUserId: 'user_c' }),
    );
    await other.links.upsert(link('U2', 'user_d'));
    await waitFor(async () =>
      expect(await db.store.links.find('slack', 'T1', 'U2')).toMatchObject({ orgUserId: 'user_d' }),
    );
    await other.links.remove('slack', 'T1', 'U2');
    await waitFor(async () => expect(await db.store.links.find('slack', 'T1', 'U2')).toBeNull());
  });

  it("sees an operator's SQL (no store involved): the database triggers move the counter", async () => {
    await db.store.links.find('slack', 'T1', 'U3');
    const at = testProvider() === 'postgres' ? new Date().toISOString() : Date.now();
    await querySql(
      db.url,
      'INSERT INTO "IdentityLink" ("platform","teamId","userId","orgUserId","email","emailLower","method","linkedAt","refreshedAt") VALUES (?,?,?,?,?,?,?,?,?)',
      ['slack', 'T1', 'U3', 'user_e', 'e@example.com', 'e@example.com', 'operator', at, at],
    );
    await waitFor(async () =>
      expect(await db.store.links.find('slack', 'T1', 'U3')).toMatchObject({ orgUserId: 'user_e' }),
    );
    await querySql(db.url, `DELETE FROM "IdentityLink" WHERE "userId" = 'U3'`);
    await waitFor(async () => expect(await db.store.links.find('slack', 'T1', 'U3')).toBeNull());
  });

  it('answers from memory: a change the counter does not show is not seen', async () => {
    await db.store.links.upsert(link('U5', 'user_g'));
    expect(await db.store.links.find('slack', 'T1', 'U5')).toMatchObject({ orgUserId: 'user_g' });
    // The update's trigger bumps the counter; putting it back hides the change from every copy.
    await querySql(db.url, `UPDATE "IdentityLink" SET "orgUserId" = 'user_h' WHERE "userId" = 'U5'`);
    await querySql(db.url, `UPDATE "ChangeCounter" SET "version" = "version" - 1 WHERE "name" = 'links'`);
    await new Promise((r) => setTimeout(r, LINKS_CHECK_MS * 2.5));
    expect(await db.store.links.find('slack', 'T1', 'U5')).toMatchObject({ orgUserId: 'user_g' });
    await querySql(db.url, `UPDATE "ChangeCounter" SET "version" = "version" + 1 WHERE "name" = 'links'`);
    await waitFor(async () =>
      expect(await db.store.links.find('slack', 'T1', 'U5')).toMatchObject({ orgUserId: 'user_h' }),
    );
  });

  it('hands out copies: changing a returned link changes nothing stored', async () => {
    await db.store.links.upsert(link('U4', 'user_f'));
    const found = await db.store.links.find('slack', 'T1', 'U4');
    if (!found) throw new Error('link missing');
    found.orgUserId = 'someone_else';
    found.refreshedAt.setTime(0);
    expect(await db.store.links.find('slack', 'T1', 'U4')).toMatchObject({
      orgUserId: 'user_f',
      refreshedAt: new Date('2026-11-01T00:00:00Z'),
    });
  });
});
