/**
 * On SQLite a directory sync writes each chunk of rows as one JSON parameter unpacked by json_each (insert-rows.ts:
 * bound one by one, Prisma carried ~3,000 parameters per chunk through its query compiler, most of a first sync's
 * database time). What is stored must be exactly what binding stores: read back equal, and the same SQL types and
 * text in the file as a row written by the bound path (a single-row write).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiKey } from '../../src/core/ports/admin-api.js';
import { openStore } from '../../src/store/index.js';
import { createTestDatabase, type TestDatabase, testProvider } from '../support/db.js';
import { apiKey } from '../support/directory-rows.js';
import { querySql } from '../support/sql.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const key = (i: number, o: Partial<ApiKey> = {}): ApiKey =>
  apiKey(`apikey_json_${String(i).padStart(3, '0')}`, {
    name: `key ${i}`,
    workspaceId: 'wrkspc_1',
    createdAt: '2026-11-01T10:20:30.123Z',
    createdBy: { id: 'user_a', type: 'user' },
    ...o,
  });

describe('rows written as one JSON parameter', () => {
  it('read back exactly as given, awkward values included', async () => {
    const apiKeys = [
      key(1, { name: '12345' }),
      key(2, {
        name: `O'Brien "quoted" \\ back ☃ 🗝️  end`,
        partialKeyHint: null,
      }),
      key(3, { createdAt: null, createdBy: null, workspaceId: null }),
      key(4, { expiresAt: '2027-01-31T23:59:59.999Z', status: 'inactive' }),
      ...Array.from({ length: 40 }, (_, i) => key(10 + i)),
    ];
    await db.store.directory.replace({
      users: [{ id: 'user_a', email: 'a@example.com', name: 'A', role: 'admin', addedAt: '2026-10-01T00:00:00Z' }],
      invites: [],
      workspaces: [],
      members: [
        { userId: 'user_a', workspaceId: 'wrkspc_1', workspaceRole: 'workspace_admin' },
        { userId: 'user_b', workspaceId: 'wrkspc_1', workspaceRole: 'workspace_user' },
      ],
      apiKeys,
      syncedAt: new Date('2026-11-26T12:00:00.000Z'),
    });
    const stored = await db.store.directory.load();
    const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1);
    expect([...stored.apiKeys].sort(byId)).toEqual([...apiKeys].sort(byId));
    expect(stored.members).toHaveLength(2);
  });

  it('stores the same SQL types and text as a row bound one parameter at a time', async () => {
    // One key: the bound path. The keys above: the JSON path (several rows per statement).
    await db.store.directory.upsertApiKeys([key(900)]);
    const rows = await querySql(
      db.url,
      `SELECT "id", "createdAt", "syncedAt", "expiresAt", "name" FROM "ApiKey" WHERE "id" IN (?, ?, ?) ORDER BY "id"`,
      ['apikey_json_001', 'apikey_json_004', 'apikey_json_900'],
    );
    expect(rows).toHaveLength(3);
    const [json, withExpiry, bound] = rows;
    if (testProvider() === 'sqlite') {
      const types = await querySql(
        db.url,
        `SELECT "id", typeof("createdAt") AS c, typeof("syncedAt") AS s, typeof("name") AS n FROM "ApiKey" WHERE "id" IN (?, ?) ORDER BY "id"`,
        ['apikey_json_001', 'apikey_json_900'],
      );
      expect(types.map((t) => [t.c, t.s, t.n])).toEqual([
        ['text', 'text', 'text'],
        ['text', 'text', 'text'],
      ]);
      // The text format the libsql adapter binds a Date in.
      expect(json!.createdAt).toBe('2026-11-01T10:20:30.123+00:00');
      expect(bound!.createdAt).toBe(json!.createdAt);
      expect(withExpiry!.expiresAt).toBe('2027-01-31T23:59:59.999+00:00');
      expect(json!.name).toBe('12345');
    } else {
      expect(bound!.createdAt).toEqual(json!.createdAt);
    }
  });

  it('on SQLite, a sync writes each chunk of keys as one statement with one JSON parameter', async () => {
    const statements: string[] = [];
    const store = await openStore(db.url, { onQuery: (sql) => statements.push(sql) });
    try {
      await store.directory.replace({
        users: [{ id: 'user_a', email: 'a@example.com', name: 'A', role: 'admin', addedAt: null }],
        invites: [],
        workspaces: [],
        members: [],
        apiKeys: Array.from({ length: 700 }, (_, i) => key(100 + i)),
        syncedAt: new Date('2026-11-26T13:00:00.000Z'),
      });
    } finally {
      await store.close();
    }
    const inserts = statements.filter((q) => q.startsWith('INSERT INTO "ApiKey"'));
    expect(inserts.length).toBeGreaterThanOrEqual(3);
    if (testProvider() === 'sqlite') {
      for (const q of inserts) expect(q).toMatch(/ FROM json_each\(\?\)$/);
    } else {
      for (const q of inserts) expect(q).toContain(' VALUES ');
    }
  });
});
