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
  casts: Record<string, string> = {},
): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
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
