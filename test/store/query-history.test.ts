/**
 * Prisma's driver adapters remember the SQL and parameters of their last 100 queries in memory, debug or not
 * (@prisma/debug's log history). After a bulk write that is every row written: a directory sync of a large
 * organization kept about 20 MB of key names, ids and hints alive in an idle bot (issue 8, idle memory). The
 * store forgets that history when a bulk write ends; a single-row write shows the history is really kept.
 */
import { clearLogs, getLogs } from '@prisma/debug';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiKey } from '../../src/core/ports/admin-api.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { apiKey } from '../support/directory-rows.js';
import { usageRow } from '../support/spend-rows.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const key = (i: number): ApiKey =>
  apiKey(`apikey_history_${String(i).padStart(5, '0')}`, { name: `history-probe-${i}`, workspaceId: null });

describe("Prisma's query history after bulk writes", () => {
  it('keeps a single-row write (the history exists, so the checks below can fail)', async () => {
    clearLogs();
    await db.store.directory.upsertApiKeys([key(99_999)]);
    expect(getLogs(1_000_000)).toContain('apikey_history_99999');
  });

  it('holds none of the rows of a directory sync once it is written', async () => {
    const apiKeys = Array.from({ length: 700 }, (_, i) => key(i));
    await db.store.directory.replace({
      users: [{ id: 'user_a', email: 'a@example.com', name: 'A', role: 'admin', addedAt: null }],
      invites: [],
      workspaces: [],
      members: [],
      apiKeys,
      syncedAt: new Date(),
    });
    const logs = getLogs(10_000_000);
    expect(logs).not.toContain('apikey_history_00');
    expect(logs).not.toContain('history-probe-');
    // Written all the same (the probe key of the first test is gone: a sync replaces).
    expect((await db.store.directory.load()).apiKeys).toHaveLength(700);
  });

  it('holds none of the rows of a usage report window once it is replaced', async () => {
    const rows = Array.from({ length: 600 }, (_, i) =>
      usageRow('2026-11-01T05:00:00Z', { workspaceId: 'wrkspc_history', apiKeyId: `apikey_usage_${i}` }),
    );
    await db.store.spend.replaceUsage(new Date('2026-11-01T00:00:00Z'), new Date('2026-11-02T00:00:00Z'), rows);
    const logs = getLogs(10_000_000);
    expect(logs).not.toContain('apikey_usage_');
    expect(logs).not.toContain('wrkspc_history');
  });
});
