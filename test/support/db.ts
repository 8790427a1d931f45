/**
 * An isolated, already-migrated database per test file, cloned from the template test/global-setup.ts migrated:
 * SQLite copies the template file, Postgres runs CREATE DATABASE … TEMPLATE (no migrate per file).
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Store } from '../../src/core/ports/store.js';
import { openStore } from '../../src/store/index.js';

export interface TestDatabase {
  url: string;
  store: Store;
  /** Closes the store and deletes the database. */
  drop(): Promise<void>;
}

export const testProvider = (): 'sqlite' | 'postgres' =>
  process.env.DB_PROVIDER === 'postgres' ? 'postgres' : 'sqlite';

const suffix = () => randomBytes(6).toString('hex');

async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: requireEnv('QM_TEST_PG_ADMIN_URL') });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests through vitest (test/global-setup.ts)`);
  return v;
}

/** A fresh, empty, migrated database URL (no store opened). */
export async function createTestDatabaseUrl(): Promise<{ url: string; drop(): Promise<void> }> {
  const template = requireEnv('QM_TEST_TEMPLATE');
  if (testProvider() === 'sqlite') {
    const dir = mkdtempSync(path.join(process.env.QM_TEST_DIR ?? tmpdir(), 'db-'));
    const file = path.join(dir, 'test.db');
    copyFileSync(template, file);
    return { url: `file:${file}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `qm_t_${requireEnv('QM_TEST_RUN_ID')}_${suffix()}`;
  // Parallel clones of one template are fine; retry the rare "source database is being accessed" (55006).
  for (let attempt = 0; ; attempt++) {
    try {
      await adminQuery(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
      break;
    } catch (e) {
      if ((e as { code?: string }).code !== '55006' || attempt >= 20) throw e;
      await new Promise((r) => setTimeout(r, 100 + attempt * 50));
    }
  }
  const url = new URL(requireEnv('QM_TEST_PG_ADMIN_URL'));
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

/** An isolated, migrated database with an open store. Call drop() in afterAll. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabaseUrl();
  const store = await openStore(db.url);
  let dropped = false;
  return {
    url: db.url,
    store,
    async drop() {
      if (dropped) return;
      dropped = true;
      await store.close();
      await db.drop();
    },
  };
}

/** An empty database with no migrations applied (the caller owns it). */
export async function createBareDatabaseUrl(): Promise<{ url: string; drop(): Promise<void> }> {
  if (testProvider() === 'sqlite') {
    const dir = mkdtempSync(path.join(process.env.QM_TEST_DIR ?? tmpdir(), 'bare-'));
    return {
      url: `file:${path.join(dir, 'bare.db')}`,
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = `qm_t_${requireEnv('QM_TEST_RUN_ID')}_bare_${suffix()}`;
  await adminQuery(`CREATE DATABASE "${name}"`);
  const url = new URL(requireEnv('QM_TEST_PG_ADMIN_URL'));
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}
