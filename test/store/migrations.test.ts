import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { migrateDatabase, migrationsDirOf, openStore, providerOf } from '../../src/store/index.js';
import { createBareDatabaseUrl, testProvider } from '../support/db.js';

const shipped = () =>
  readdirSync(migrationsDirOf(testProvider()), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

describe('migrations', () => {
  it('tells the provider from the URL', () => {
    expect(providerOf('file:./data/quartermaster.db')).toBe('sqlite');
    expect(providerOf('postgres://u@h/db')).toBe('postgres');
    expect(providerOf('postgresql://u@h:5432/db')).toBe('postgres');
    expect(() => providerOf('mysql://x')).toThrow(/DATABASE_URL/);
  });

  it('reports every migration pending on a bare database, none after migrateDatabase', async () => {
    const bare = await createBareDatabaseUrl();
    try {
      const store = await openStore(bare.url);
      try {
        await store.health.ping();
        expect(shipped().length).toBeGreaterThan(0);
        expect(await store.health.pendingMigrations()).toEqual(shipped());
        const lines: string[] = [];
        await migrateDatabase(bare.url, (l) => lines.push(l));
        expect(lines.join('\n')).toMatch(/migrate deploy/);
        expect(await store.health.pendingMigrations()).toEqual([]);
        await store.audit.append({
          platform: 'system',
          teamId: null,
          actorId: 'system',
          orgUserId: null,
          actorEmail: null,
          action: 'migrate',
          options: {},
          outcome: 'allowed',
          stage: 'run',
          errorCode: null,
          message: null,
          durationMs: 0,
        });
        expect((await store.audit.list({ limit: 1 })).total).toBe(1);
      } finally {
        await store.close();
      }
    } finally {
      await bare.drop();
    }
  });

  it('rejects with the CLI output when the deploy fails', async () => {
    // SQLite: a path under a regular file, so neither the directory nor the database can be created.
    const url =
      testProvider() === 'postgres'
        ? 'postgresql://postgres@127.0.0.1:5432/qm_does_not_exist_x'
        : `file:${fileURLToPath(import.meta.url)}/x.db`;
    await expect(migrateDatabase(url)).rejects.toThrow(/migrate deploy failed/);
  });

  it('throws from ping when the database cannot be reached', async () => {
    if (testProvider() !== 'postgres') return;
    const store = await openStore('postgresql://postgres@127.0.0.1:1/nothing');
    try {
      await expect(store.health.ping()).rejects.toThrow();
    } finally {
      await store.close();
    }
  });
});
