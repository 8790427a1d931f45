/**
 * One multi-row INSERT with bound parameters. Prisma's createMany goes through its query compiler row by row,
 * which costs more than twice as much CPU as this (a first sync of a large organization; every command's audit
 * entry). Rows are plain columns (text, nullable text, numbers, timestamps), which both drivers bind natively;
 * a column named in `casts` gets a PostgreSQL cast on its parameter (e.g. `jsonb` for a JSON string).
 */
export async function insertRows(
  db: { $executeRawUnsafe(sql: string, ...values: unknown[]): Promise<number> },
  provider: 'sqlite' | 'postgres',
  table: string,
  rows: Record<string, unknown>[],
  o: {
    /** PostgreSQL casts by column, e.g. `{ options: 'jsonb' }` for a JSON string. */
    casts?: Record<string, string>;
    /** SQLite: the rows as one JSON parameter (insertRowsAsJson); only for rows of text, numbers, dates, null. */
    asJson?: boolean;
  } = {},
): Promise<void> {
  const casts = o.casts ?? {};
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  if (o.asJson && provider === 'sqlite' && rows.length > 1) return insertRowsAsJson(db, table, columns, rows);
  let n = 0;
  const param = (c: string) => {
    if (provider !== 'postgres') return '?';
    const cast = casts[c];
    return cast ? `$${++n}::${cast}` : `$${++n}`;
  };
  const tuple = () => `(${columns.map(param).join(',')})`;
  const sql = `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(',')}) VALUES ${rows.map(tuple).join(',')}`;
  const params: unknown[] = [];
  for (const r of rows) for (const c of columns) params.push(r[c] ?? null);
  await db.$executeRawUnsafe(sql, ...params);
}

/**
 * SQLite: the rows as one JSON parameter, unpacked by SQLite itself (json_each). Bound one by one, a 300-row chunk
 * is some 3,000 parameters, and Prisma carries each through its WebAssembly query compiler and the driver adapter:
 * most of the database time of a first directory sync of a large organization. Values are written as the libsql
 * adapter binds them: a Date as ISO 8601 with `+00:00`, strings, numbers and null as themselves. Not for bigints:
 * text out of the INTEGER range would be stored as it is where a bound bigint fails (the spend tables keep binding).
 */
async function insertRowsAsJson(
  db: { $executeRawUnsafe(sql: string, ...values: unknown[]): Promise<number> },
  table: string,
  columns: string[],
  rows: Record<string, unknown>[],
): Promise<void> {
  const value = (v: unknown) => {
    if (v instanceof Date) return v.toISOString().replace('Z', '+00:00');
    if (typeof v === 'bigint' || typeof v === 'boolean' || (v !== null && typeof v === 'object'))
      throw new TypeError(`insertRowsAsJson: ${table} has a ${typeof v} value; bind it instead`);
    return v ?? null;
  };
  const json = JSON.stringify(rows.map((r) => columns.map((c) => value(r[c]))));
  const picks = columns.map((_, i) => `value ->> ${i}`).join(',');
  const sql = `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(',')}) SELECT ${picks} FROM json_each(?)`;
  await db.$executeRawUnsafe(sql, json);
}
