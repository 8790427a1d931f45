/** The spend write side (src/store/spend-store.ts) on the test database: windows replaced, never added to. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClaudeCodeDayRow, CostDayRow, UsageHourRow } from '../../src/core/ports/spend.js';
import { openStore } from '../../src/store/index.js';
import { SPEND_DELETE_ROWS, SPEND_SPAN_ROWS } from '../../src/store/spend-store.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { big, querySql } from '../support/sql.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-03-01T00:00:00Z');
const at = (ms: number) => new Date(T0 + ms);

const usage = (hour: number, key: string, uncached: bigint): UsageHourRow => ({
  bucketStart: at(hour * HOUR),
  workspaceId: key === 'k-default' ? '' : 'wrkspc_1',
  apiKeyId: key,
  model: 'claude-sonnet-4-5',
  serviceTier: 'standard',
  uncachedInput: uncached,
  cacheRead: 1n,
  cacheWrite5m: 2n,
  cacheWrite1h: 3n,
  output: 4n,
  webSearch: 5n,
});

async function usageTotals(): Promise<{ rows: number; uncached: bigint }> {
  const [r] = await querySql(db.url, 'SELECT COUNT(*) AS n, SUM("uncachedInput") AS s FROM "UsageHour"');
  return { rows: Number(big(r!.n)), uncached: big(r!.s) };
}

describe('spend writes', () => {
  it('replaces a window: the old rows of the window go, rows outside it stay, amounts beyond 2^53 are exact', async () => {
    const s = db.store.spend;
    // 1,200 rows: more than two INSERT chunks.
    const first = Array.from({ length: 1200 }, (_, i) => usage(i % 48, `k${Math.floor(i / 48)}`, 10n));
    expect(await s.replaceUsage(at(0), at(48 * HOUR), first)).toEqual({ deleted: 0, inserted: 1200 });
    expect(await usageTotals()).toEqual({ rows: 1200, uncached: 12_000n });

    // The same window again, unchanged: nothing counted twice.
    expect(await s.replaceUsage(at(0), at(48 * HOUR), first)).toEqual({ deleted: 1200, inserted: 1200 });
    expect(await usageTotals()).toEqual({ rows: 1200, uncached: 12_000n });

    // Hours 24–47 revised: one row of 2^53 + 1 tokens replaces the 600 rows there; hours 0–23 are untouched.
    const huge = 9_007_199_254_740_993n;
    expect(await s.replaceUsage(at(24 * HOUR), at(48 * HOUR), [usage(30, 'k-default', huge)])).toEqual({
      deleted: 600,
      inserted: 1,
    });
    expect(await usageTotals()).toEqual({ rows: 601, uncached: 6_000n + huge });
    const [d] = await querySql(db.url, `SELECT "workspaceId", "uncachedInput" FROM "UsageHour" WHERE "apiKeyId" = ?`, [
      'k-default',
    ]);
    expect(d!.workspaceId).toBe('');
    expect(big(d!.uncachedInput)).toBe(huge);

    // An empty answer for a window empties it.
    expect(await s.replaceUsage(at(24 * HOUR), at(48 * HOUR), [])).toEqual({ deleted: 1, inserted: 0 });
    expect(await usageTotals()).toEqual({ rows: 600, uncached: 6_000n });
  });

  it('refuses rows outside the window being replaced (they would escape the next replace)', async () => {
    await expect(db.store.spend.replaceUsage(at(0), at(HOUR), [usage(1, 'k1', 1n)])).rejects.toThrow(
      /outside the window/,
    );
    await expect(db.store.spend.replaceUsage(at(HOUR), at(0), [])).rejects.toThrow(/invalid report window/);
    expect((await usageTotals()).rows).toBe(600);
  });

  it('replaces cost days and Claude Code days the same way', async () => {
    const s = db.store.spend;
    const cost = (day: number, ws: string, nanos: bigint): CostDayRow => ({
      day: at(day * DAY),
      workspaceId: ws,
      description: 'Claude Sonnet 4.5 Usage - Input Tokens',
      costType: 'tokens',
      model: 'claude-sonnet-4-5',
      tokenType: 'uncached_input_tokens',
      serviceTier: 'standard',
      nanos,
    });
    await s.replaceCosts(at(0), at(3 * DAY), [cost(0, 'a', 1_237_891_200n), cost(1, '', 5n), cost(2, 'a', 7n)]);
    await s.replaceCosts(at(1 * DAY), at(3 * DAY), [cost(1, '', 6n)]);
    const [c] = await querySql(db.url, 'SELECT COUNT(*) AS n, SUM("nanos") AS s FROM "CostDay"');
    expect([Number(big(c!.n)), big(c!.s)]).toEqual([2, 1_237_891_206n]);

    const cc = (day: number, actor: string): ClaudeCodeDayRow => ({
      day: at(day * DAY),
      actorType: 'user',
      actor,
      terminalType: 'vscode',
      customerType: 'api',
      sessions: 3,
      linesAdded: 100,
      linesRemoved: 20,
      commits: 2,
      pullRequests: 1,
      toolAccepted: 9,
      toolRejected: 1,
      inputTokens: 1000n,
      outputTokens: 200n,
      cacheRead: 300n,
      cacheCreation: 40n,
      costNanos: 123_456_789n,
    });
    await s.replaceClaudeCode(at(0), at(2 * DAY), [cc(0, 'a@example.com'), cc(1, 'b@example.com')]);
    expect(await s.replaceClaudeCode(at(1 * DAY), at(2 * DAY), [cc(1, 'b@example.com')])).toEqual({
      deleted: 1,
      inserted: 1,
    });
    const [k] = await querySql(db.url, 'SELECT COUNT(*) AS n, SUM("costNanos") AS s FROM "ClaudeCodeDay"');
    expect([Number(big(k!.n)), big(k!.s)]).toEqual([2, 246_913_578n]);
  });

  it('replaces a large window bucket by bucket: a write that fails midway leaves every hour whole, the next repairs it', async () => {
    const s = db.store.spend;
    const H0 = 1000; // hours after T0: clear of the rows of the tests above
    // Keys enough that 48 hours of them are more than one transaction's worth of rows.
    const K = Math.ceil(SPEND_SPAN_ROWS / 40);
    const hourly = (value: bigint) =>
      Array.from({ length: 48 * K }, (_, i) => usage(H0 + Math.floor(i / K), `k${i % K}`, value));
    const byHour = async () =>
      (
        await querySql(
          db.url,
          'SELECT "bucketStart" AS h, COUNT(*) AS n, SUM("uncachedInput") AS s FROM "UsageHour" GROUP BY "bucketStart" ORDER BY "bucketStart"',
        )
      )
        .filter((r) => new Date(r.h as string | Date) >= at(H0 * HOUR))
        .map((r): [number, bigint] => [Number(big(r.n)), big(r.s)]);
    const from = at(H0 * HOUR);
    const to = at((H0 + 48) * HOUR);
    await s.replaceUsage(from, to, hourly(1n));

    // The revised window's last row cannot be stored (beyond BIGINT): the write fails in its last hours.
    const revised = hourly(2n);
    revised[revised.length - 1] = { ...revised[revised.length - 1]!, uncachedInput: 2n ** 64n };
    await expect(s.replaceUsage(from, to, revised)).rejects.toThrow();
    const after = await byHour();
    expect(after).toHaveLength(48);
    // Every hour holds its K rows, old (1 token each) or new (2), never both: nothing counted twice or lost.
    const [old, fresh] = [BigInt(K), BigInt(2 * K)];
    for (const [n, sum] of after) expect([n, [old, fresh].includes(sum)]).toEqual([K, true]);
    // Written span by span: the first hours are already the new ones, the failing last hour is still the old one.
    expect(after[0]).toEqual([K, fresh]);
    expect(after[47]).toEqual([K, old]);

    // The next replace of the window (the sync's next run) finishes it.
    expect(await s.replaceUsage(from, to, hourly(2n))).toEqual({ deleted: 48 * K, inserted: 48 * K });
    expect(await byHour()).toEqual(Array.from({ length: 48 }, () => [K, fresh]));
  });

  it('removes the stored rows of a window in bounded DELETEs (each holds the SQLite thread briefly), leaving exactly the new rows', async () => {
    const statements: string[] = [];
    const store = await openStore(db.url, { onQuery: (sql) => statements.push(sql) });
    try {
      const H0 = 3000; // hours after T0: clear of the rows of the tests above
      const K = 3 * SPEND_DELETE_ROWS; // keys per hour: one hour's stored rows are more than one DELETE's worth
      const hours = Math.ceil((2 * SPEND_SPAN_ROWS) / K) + 1; // more than one span too
      const hourly = (value: bigint) =>
        Array.from({ length: hours * K }, (_, i) => usage(H0 + Math.floor(i / K), `del-${i % K}`, value));
      const from = at(H0 * HOUR);
      const to = at((H0 + hours) * HOUR);
      await store.spend.replaceUsage(from, to, hourly(1n));

      statements.length = 0;
      const fresh = hourly(2n).slice(0, K); // the revised window holds one hour
      expect(await store.spend.replaceUsage(from, to, fresh)).toEqual({ deleted: hours * K, inserted: K });
      const deletes = statements.filter((q) => /^\s*DELETE\b/i.test(q));
      expect(deletes.length).toBeGreaterThanOrEqual(Math.ceil((hours * K) / SPEND_DELETE_ROWS));
      for (const q of deletes) expect(q).toContain(`LIMIT ${SPEND_DELETE_ROWS}`);

      const [r] = await querySql(
        db.url,
        `SELECT COUNT(*) AS n, SUM("uncachedInput") AS s FROM "UsageHour" WHERE "apiKeyId" LIKE 'del-%'`,
      );
      expect([Number(big(r!.n)), big(r!.s)]).toEqual([K, BigInt(2 * K)]);
    } finally {
      await store.close();
    }
  });

  it('keeps a cursor and the start of the ingested range per report', async () => {
    const s = db.store.spend;
    expect(await s.syncedThrough('costs')).toBeNull();
    expect(await s.syncedFrom('costs')).toBeNull();
    await s.setSyncedThrough('costs', at(3 * DAY), at(4 * DAY));
    await s.setSyncedFrom('costs', at(-30 * DAY), at(4 * DAY));
    await s.setSyncedThrough('costs', at(5 * DAY), at(6 * DAY));
    expect(await s.syncedThrough('costs')).toEqual(at(5 * DAY));
    expect(await s.syncedFrom('costs')).toEqual(at(-30 * DAY));
    expect(await s.syncedThrough('usage')).toBeNull();
  });
});
