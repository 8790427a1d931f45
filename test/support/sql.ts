/**
 * Plain SQL against a test database, bypassing the store (to check what was really written). Both drivers are
 * the ones the adapters use underneath: pg for PostgreSQL, @libsql/client for SQLite.
 */
import { createClient } from '@libsql/client';
import pg from 'pg';
import { testProvider } from './db.js';

export type SqlRow = Record<string, unknown>;

/** Runs one statement; `?` placeholders on SQLite become `$1…` on PostgreSQL. */
export async function querySql(url: string, sql: string, args: unknown[] = []): Promise<SqlRow[]> {
  if (testProvider() === 'postgres') {
    let n = 0;
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return (
        await c.query(
          sql.replace(/\?/g, () => `$${++n}`),
          args,
        )
      ).rows;
    } finally {
      await c.end();
    }
  }
  const c = createClient({ url, intMode: 'bigint' });
  try {
    return (await c.execute({ sql, args: args as never })).rows as unknown as SqlRow[];
  } finally {
    c.close();
  }
}

/** An integer column or SUM as a bigint, whatever the driver returned (number, bigint or numeric text). */
export function big(v: unknown): bigint {
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  return BigInt(String(v));
}
