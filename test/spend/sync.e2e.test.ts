/**
 * Spend ingestion end to end: src/core/spend/sync.ts through the real reports client (the Anthropic SDK over HTTP)
 * against the Admin API simulator, into the test database (SQLite or PostgreSQL). Expected numbers come from the
 * simulator's hourly ground truth (state.usageRows, claudeCodeRecords), computed here independently of the bot,
 * and are compared with what the database holds, read with plain SQL.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createReportsApiClient } from '../../src/anthropic/reports.js';
import {
  claudeCodeRecords,
  type RecordedRequest,
  SIM_PRICES,
  type Simulator,
  startSimulator,
  type UsageRow,
  usageCostUnits,
} from '../../src/anthropic/simulator/index.js';
import type { Logger } from '../../src/core/ports/runtime.js';
import { centsToNanos } from '../../src/core/spend/money.js';
import {
  BACKFILL_DAYS,
  ensureSpendData,
  SpendSyncError,
  type SpendSyncServices,
  syncClaudeCode,
  syncCosts,
  syncUsage,
} from '../../src/core/spend/sync.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { big, querySql } from '../support/sql.js';

// A 35-day backfill per test, checked row by row: allow for a slow, shared machine.
vi.setConfig({ testTimeout: 90_000, hookTimeout: 60_000 });

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** A Wednesday afternoon: the current hour and day are incomplete. */
const START_MS = Date.parse('2026-11-25T14:40:00.000Z');
let nowMs = START_MS;

const USAGE_PATH = '/v1/organizations/usage_report/messages';
const COST_PATH = '/v1/organizations/cost_report';
const CC_PATH = '/v1/organizations/usage_report/claude_code';

let sim: Simulator;
let db: TestDatabase;
let logs: Array<{ obj: Record<string, unknown>; msg?: string }>;

function logger(): Logger {
  const log =
    (level: string) =>
    (obj: object, msg?: string): void => {
      logs.push({ obj: { level, ...(obj as Record<string, unknown>) }, msg });
    };
  const l: Logger = {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: () => l,
  };
  return l;
}

let services: SpendSyncServices;

beforeAll(async () => {
  sim = await startSimulator({ now: () => new Date(nowMs) });
  logs = [];
  services = {
    // The SDK's own backoff between retries, shortened only by the 429 faults' retry-after.
    reports: createReportsApiClient({ adminKey: sim.adminKey, baseURL: sim.url, maxRetries: 2, timeoutMs: 10_000 }),
    store: undefined as never,
    clock: { now: () => new Date(nowMs) },
    logger: logger(),
  };
});
afterAll(async () => {
  await sim?.close();
  await db?.drop();
});
beforeEach(async () => {
  // Every test starts from an empty database and an unrevised simulator at the same instant.
  await db?.drop();
  db = await createTestDatabase();
  services.store = db.store;
  nowMs = START_MS;
  sim.reset();
  logs.length = 0;
});

// ---- expected values, from the simulator's ground truth

const floorTo = (ms: number, w: number) => Math.floor(ms / w) * w;
const dayKey = (ms: number) => new Date(floorTo(ms, DAY)).toISOString().slice(0, 10);
const TOKEN_FIELDS = ['uncachedInput', 'cacheRead', 'cacheWrite5m', 'cacheWrite1h', 'output'] as const;

/** The backfill window of a first run at `nowMs`: 35 days back to the end of the current bucket. */
const backfillFrom = (width: number) => floorTo(nowMs - BACKFILL_DAYS * DAY, width);

interface DayTotals {
  rows: number;
  tokens: bigint;
  webSearch: bigint;
}

function truthUsageByDay(from: number, to: number): Map<string, DayTotals> {
  const out = new Map<string, DayTotals>();
  for (const r of sim.state.usageRows(from, to)) {
    const k = dayKey(r.hourStart);
    const t = out.get(k) ?? { rows: 0, tokens: 0n, webSearch: 0n };
    t.rows++;
    for (const f of TOKEN_FIELDS) t.tokens += BigInt(r[f]);
    t.webSearch += BigInt(r.webSearchRequests);
    out.set(k, t);
  }
  return out;
}

/** Σ tokens × prices per day in 1e-7 cent units, which are nano-dollars. */
function truthCostByDay(from: number, to: number): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const r of sim.state.usageRows(from, to)) {
    const k = dayKey(r.hourStart);
    out.set(k, (out.get(k) ?? 0n) + usageCostUnits(r));
  }
  return out;
}

function truthClaudeCodeByDay(from: number, to: number): Map<string, { records: number; nanos: bigint }> {
  const out = new Map<string, { records: number; nanos: bigint }>();
  for (let d = floorTo(from, DAY); d < to; d += DAY) {
    const recs = claudeCodeRecords(sim.state, d, nowMs);
    if (recs.length === 0) continue;
    let nanos = 0n;
    for (const r of recs) for (const m of r.model_breakdown) nanos += centsToNanos(m.estimated_cost.amount);
    out.set(dayKey(d), { records: recs.length, nanos });
  }
  return out;
}

// ---- what the database holds

async function storedUsageByDay(): Promise<Map<string, DayTotals>> {
  const rows = await querySql(
    db.url,
    `SELECT "bucketStart" AS t, "uncachedInput" + "cacheRead" + "cacheWrite5m" + "cacheWrite1h" + "output" AS tokens,
            "webSearch" AS ws FROM "UsageHour"`,
  );
  const out = new Map<string, DayTotals>();
  for (const r of rows) {
    const k = dayKey(new Date(r.t as string | Date).getTime());
    const t = out.get(k) ?? { rows: 0, tokens: 0n, webSearch: 0n };
    t.rows++;
    t.tokens += big(r.tokens);
    t.webSearch += big(r.ws);
    out.set(k, t);
  }
  return out;
}

/** Every stored usage row as the ground truth's shape, sorted, to compare row by row. */
async function storedUsageRows(): Promise<string[]> {
  const rows = await querySql(db.url, 'SELECT * FROM "UsageHour"');
  return rows
    .map((r) =>
      [
        new Date(r.bucketStart as string | Date).getTime(),
        r.apiKeyId || null,
        r.workspaceId || null,
        r.model,
        r.serviceTier,
        ...TOKEN_FIELDS.map((f) => big(r[f]).toString()),
        big(r.webSearch).toString(),
      ].join('|'),
    )
    .sort();
}
const truthUsageRows = (rows: UsageRow[]) =>
  rows
    .map((r) =>
      [
        r.hourStart,
        r.apiKeyId,
        r.workspaceId,
        r.model,
        r.serviceTier,
        ...TOKEN_FIELDS.map((f) => String(r[f])),
        String(r.webSearchRequests),
      ].join('|'),
    )
    .sort();

async function storedCostByDay(): Promise<Map<string, bigint>> {
  const rows = await querySql(db.url, 'SELECT "day" AS t, "nanos" AS n FROM "CostDay"');
  const out = new Map<string, bigint>();
  for (const r of rows) {
    const k = dayKey(new Date(r.t as string | Date).getTime());
    out.set(k, (out.get(k) ?? 0n) + big(r.n));
  }
  return out;
}

async function storedClaudeCodeByDay(): Promise<Map<string, { records: number; nanos: bigint }>> {
  const rows = await querySql(db.url, 'SELECT "day" AS t, "costNanos" AS n FROM "ClaudeCodeDay"');
  const out = new Map<string, { records: number; nanos: bigint }>();
  for (const r of rows) {
    const k = dayKey(new Date(r.t as string | Date).getTime());
    const t = out.get(k) ?? { records: 0, nanos: 0n };
    t.records++;
    t.nanos += big(r.n);
    out.set(k, t);
  }
  return out;
}

async function tableCounts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['UsageHour', 'CostDay', 'ClaudeCodeDay']) {
    const [r] = await querySql(db.url, `SELECT COUNT(*) AS n FROM "${t}"`);
    out[t] = Number(big(r!.n));
  }
  return out;
}

const reportRequests = (path: string, since = 0): RecordedRequest[] =>
  sim.requests.slice(since).filter((r) => r.path === path);

/** The end of the current bucket: the first run reads up to it. */
const currentBucketEnd = (width: number) => floorTo(nowMs, width) + width;

// ---- tests

describe('first sync (35-day backfill)', () => {
  it('usage: every hourly row of the ground truth, exactly, in the fewest pages of 168 hours', async () => {
    const s = await syncUsage(services);
    const from = backfillFrom(HOUR);
    const to = currentBucketEnd(HOUR);
    const hours = (to - from) / HOUR;
    const pages = Math.ceil(hours / 168);

    expect(s.requests).toBe(pages);
    const made = reportRequests(USAGE_PATH);
    expect(made).toHaveLength(pages);
    // The documented array form, the maximum page, hourly buckets.
    for (const r of made) {
      expect(r.query['group_by[]']).toEqual(['api_key_id', 'workspace_id', 'model', 'service_tier']);
      expect(r.query.limit).toBe('168');
      expect(r.query.bucket_width).toBe('1h');
      expect(r.query.starting_at).toBe(new Date(from).toISOString());
    }
    expect(made.filter((r) => r.query.page === undefined)).toHaveLength(1);

    const truth = sim.state.usageRows(from, to);
    expect(truth.length).toBeGreaterThan(1000);
    expect(s.rows).toBe(truth.length);
    expect(await storedUsageRows()).toEqual(truthUsageRows(truth));
    expect(await storedUsageByDay()).toEqual(truthUsageByDay(from, to));
    // Console usage (no key) and the Default workspace are stored as ''.
    expect(truth.some((r) => r.apiKeyId === null)).toBe(true);
    expect(truth.some((r) => r.workspaceId === null)).toBe(true);

    expect(await db.store.spend.syncedThrough('usage')).toEqual(new Date(floorTo(nowMs, HOUR)));
    expect(await db.store.spend.syncedFrom('usage')).toEqual(new Date(from));
    const line = logs.find((l) => l.msg === 'spend sync' && l.obj.report === 'usage');
    expect(line?.obj).toMatchObject({ level: 'info', requests: pages, rows: truth.length });
    expect(typeof line?.obj.httpMs).toBe('number');
    expect(typeof line?.obj.dbMs).toBe('number');
  });

  it('costs: every day to the nano-dollar, in ceil(days / 31) pages', async () => {
    const s = await syncCosts(services);
    const from = backfillFrom(DAY);
    const to = currentBucketEnd(DAY);
    const pages = Math.ceil((to - from) / DAY / 31);
    expect(s.requests).toBe(pages);
    const made = reportRequests(COST_PATH);
    expect(made).toHaveLength(pages);
    for (const r of made) {
      expect(r.query['group_by[]']).toEqual(['workspace_id', 'description']);
      expect(r.query.limit).toBe('31');
    }
    const truth = truthCostByDay(from, to);
    expect(truth.size).toBe(36);
    expect(await storedCostByDay()).toEqual(truth);
    expect(await db.store.spend.syncedThrough('costs')).toEqual(new Date(floorTo(nowMs, DAY)));
  });

  it('Claude Code: every record of every day, one request per day with up to 1,000 records', async () => {
    const s = await syncClaudeCode(services);
    const from = backfillFrom(DAY);
    const to = currentBucketEnd(DAY);
    const days = (to - from) / DAY;
    expect(s.requests).toBe(days);
    const made = reportRequests(CC_PATH);
    expect(made.map((r) => r.query.starting_at)).toEqual(
      Array.from({ length: days }, (_, i) => dayKey(from + i * DAY)),
    );
    expect(made.every((r) => r.query.limit === '1000')).toBe(true);
    const truth = truthClaudeCodeByDay(from, to);
    expect(truth.size).toBeGreaterThan(20);
    expect(await storedClaudeCodeByDay()).toEqual(truth);
  });

  it('Claude Code days of several pages are read to the end before the day is replaced', async () => {
    const s = await syncClaudeCode(services, { pageSize: 2 });
    const from = backfillFrom(DAY);
    const to = currentBucketEnd(DAY);
    const truth = truthClaudeCodeByDay(from, to);
    let floor = 0;
    for (let d = from; d < to; d += DAY) floor += Math.max(1, Math.ceil((truth.get(dayKey(d))?.records ?? 0) / 2));
    expect(s.requests).toBe(floor);
    expect(await storedClaudeCodeByDay()).toEqual(truth);
  });
});

describe('later runs', () => {
  it('re-running with unchanged data changes nothing and reads only the revisable trail', async () => {
    await syncUsage(services);
    await syncCosts(services);
    await syncClaudeCode(services);
    const counts = await tableCounts();
    const usage = await storedUsageRows();
    const cost = await storedCostByDay();
    const cc = await storedClaudeCodeByDay();

    const mark = sim.requests.length;
    const u = await syncUsage(services);
    const c = await syncCosts(services);
    const k = await syncClaudeCode(services);
    // 48 h + the current hour: one page; 3 days + today: one page; 2 days + today: three requests.
    expect(u.requests).toBe(1);
    expect(u.from).toEqual(new Date(floorTo(nowMs, HOUR) - 48 * HOUR));
    expect(c.requests).toBe(1);
    expect(c.from).toEqual(new Date(floorTo(nowMs, DAY) - 3 * DAY));
    expect(k.requests).toBe(3);
    expect(sim.requests.length - mark).toBe(5);

    expect(await tableCounts()).toEqual(counts);
    expect(await storedUsageRows()).toEqual(usage);
    expect(await storedCostByDay()).toEqual(cost);
    expect(await storedClaudeCodeByDay()).toEqual(cc);
  });

  it('the hour and day in progress are completed by the next run, never added to', async () => {
    await syncUsage(services);
    await syncCosts(services);
    const from = backfillFrom(HOUR);
    nowMs += 3 * HOUR + 7 * 60_000; // 17:47: three more hours, the one at 14:00 now complete
    const u = await syncUsage(services);
    await syncCosts(services);
    expect(u.from).toEqual(new Date(floorTo(START_MS, HOUR) - 48 * HOUR));
    const to = currentBucketEnd(HOUR);
    expect(await storedUsageRows()).toEqual(truthUsageRows(sim.state.usageRows(from, to)));
    expect(await storedCostByDay()).toEqual(truthCostByDay(floorTo(START_MS - BACKFILL_DAYS * DAY, DAY), to));
    expect(await db.store.spend.syncedThrough('usage')).toEqual(new Date(floorTo(nowMs, HOUR)));
  });

  it('a revised bucket replaces the old value in usage and costs (no double count)', async () => {
    await syncUsage(services);
    await syncCosts(services);
    const hour = floorTo(nowMs, HOUR) - 20 * HOUR;
    const target = sim.state.usageRows(hour, hour + HOUR).find((r) => r.apiKeyId !== null)!;
    expect(target).toBeDefined();
    const day = dayKey(hour);
    const before = (await storedUsageByDay()).get(day)!;
    const costBefore = (await storedCostByDay()).get(day)!;

    sim.state.reviseUsage({
      apiKeyId: target.apiKeyId,
      hourStart: hour,
      model: target.model,
      serviceTier: target.serviceTier,
      tokens: { uncachedInput: target.uncachedInput + 1_000_000 },
    });
    await syncUsage(services);
    await syncCosts(services);

    const after = (await storedUsageByDay()).get(day)!;
    expect(after.tokens - before.tokens).toBe(1_000_000n);
    expect(after.rows).toBe(before.rows);
    const from = backfillFrom(HOUR);
    const to = currentBucketEnd(HOUR);
    expect(await storedUsageRows()).toEqual(truthUsageRows(sim.state.usageRows(from, to)));
    // 1M more input tokens cost the model's price per million (cents × 1e7 nanos), half of it on the batch tier.
    const costAfter = (await storedCostByDay()).get(day)!;
    const perMillion = BigInt(SIM_PRICES[target.model]!.in) * 10_000_000n;
    expect(costAfter - costBefore).toBe(target.serviceTier === 'batch' ? perMillion / 2n : perMillion);
    expect(await storedCostByDay()).toEqual(truthCostByDay(backfillFrom(DAY), currentBucketEnd(DAY)));

    // A revision that removes the row entirely also disappears from the database.
    sim.state.reviseUsage({
      apiKeyId: target.apiKeyId,
      hourStart: hour,
      model: target.model,
      serviceTier: target.serviceTier,
      factor: 0,
    });
    await syncUsage(services);
    const gone = (await storedUsageByDay()).get(day)!;
    expect(gone.rows).toBe(before.rows - 1);
    expect(await storedUsageRows()).toEqual(truthUsageRows(sim.state.usageRows(from, to)));
  });
});

describe('failures', () => {
  it('a page that fails midway (500 beyond the retries) fails the sync; the next run completes exactly', async () => {
    // The 3rd usage page fails on its first attempt and on both retries.
    sim.faults.inject({ path: USAGE_PATH, after: 2, times: 3, status: 500 });
    const err = await syncUsage(services).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpendSyncError);
    const e = err as SpendSyncError;
    expect(e.message).toMatch(/Usage report sync failed after 2 window\(s\) written/);
    expect(e.message).toContain('the Admin API answered 500 after 3 attempts: Internal server error');
    expect(e.message).toMatch(/next run resumes from/);
    expect(e.summary.requests).toBe(3);
    expect(reportRequests(USAGE_PATH)).toHaveLength(2 + 3);

    // What was written is the first two pages exactly, and the cursor is at their end.
    const from = backfillFrom(HOUR);
    const twoPages = from + 2 * 168 * HOUR;
    expect(await storedUsageRows()).toEqual(truthUsageRows(sim.state.usageRows(from, twoPages)));
    expect(await db.store.spend.syncedThrough('usage')).toEqual(new Date(twoPages));
    expect(logs.some((l) => l.msg === 'spend sync failed' && l.obj.level === 'warn')).toBe(true);

    const mark = sim.requests.length;
    const s = await syncUsage(services);
    // Resumed from the cursor minus the revisable 48 h, not from the start.
    expect(s.from).toEqual(new Date(twoPages - 48 * HOUR));
    const hours = (currentBucketEnd(HOUR) - (twoPages - 48 * HOUR)) / HOUR;
    expect(sim.requests.length - mark).toBe(Math.ceil(hours / 168));
    const truth = sim.state.usageRows(from, currentBucketEnd(HOUR));
    expect(await storedUsageRows()).toEqual(truthUsageRows(truth));
    expect(await storedUsageByDay()).toEqual(truthUsageByDay(from, currentBucketEnd(HOUR)));
  });

  it('a cost page and a Claude Code day that fail are resumed without double counting', async () => {
    sim.faults.inject({ path: COST_PATH, after: 1, times: 3, status: 503 });
    sim.faults.inject({ path: CC_PATH, after: 10, times: 3, status: 500 });
    await expect(syncCosts(services)).rejects.toThrow(/Cost report sync failed after 1 window/);
    await expect(syncClaudeCode(services)).rejects.toThrow(/Claude Code report sync failed after 10 window/);
    await syncCosts(services);
    await syncClaudeCode(services);
    expect(await storedCostByDay()).toEqual(truthCostByDay(backfillFrom(DAY), currentBucketEnd(DAY)));
    expect(await storedClaudeCodeByDay()).toEqual(truthClaudeCodeByDay(backfillFrom(DAY), currentBucketEnd(DAY)));
  });

  it('a transient 500 and a 429 are retried by the client: one sync, exact totals', async () => {
    sim.faults.inject({ path: USAGE_PATH, after: 1, times: 1, status: 500 });
    sim.faults.inject({ path: USAGE_PATH, after: 3, times: 1, status: 429, retryAfter: 0.05 });
    const s = await syncUsage(services);
    const from = backfillFrom(HOUR);
    const to = currentBucketEnd(HOUR);
    const pages = Math.ceil((to - from) / HOUR / 168);
    expect(s.requests).toBe(pages);
    const made = reportRequests(USAGE_PATH);
    expect(made).toHaveLength(pages + 2);
    expect(made.map((r) => r.status).filter((x) => x !== 200)).toEqual([500, 429]);
    expect(await storedUsageRows()).toEqual(truthUsageRows(sim.state.usageRows(from, to)));
  });
});

describe('ensureSpendData (what the digest calls for a day and the 30 before it)', () => {
  it('syncs everything on a fresh database, then nothing older than the trail; fetches only the missing past', async () => {
    const yesterday = floorTo(nowMs, DAY) - DAY;
    const window = { from: new Date(yesterday - 30 * DAY), to: new Date(yesterday + DAY) };
    const first = await ensureSpendData(services, window);
    expect(first.map((x) => x.report)).toEqual(['usage', 'costs', 'claude_code']);
    expect(await storedCostByDay()).toEqual(truthCostByDay(backfillFrom(DAY), currentBucketEnd(DAY)));

    // A minute later the syncs are current (younger than the jobs' intervals): nothing is asked again.
    nowMs += 60_000;
    let mark = sim.requests.length;
    expect(await ensureSpendData(services, window)).toEqual([]);
    expect(sim.requests.length).toBe(mark);

    // Half an hour later the window is still within the revisable trail: the incremental syncs run (bounded).
    nowMs += 30 * 60_000;
    const again = await ensureSpendData(services, window);
    expect(again.map((x) => x.requests)).toEqual([1, 1, 3]);

    // A day 20 days back: its window reaches 15 days before the ingested range, and only those are fetched
    // (one cost page); the range then starts there, so asking again fetches nothing.
    const mid = floorTo(nowMs, DAY) - 20 * DAY;
    const midWindow = { from: new Date(mid - 30 * DAY), to: new Date(mid + DAY) };
    mark = sim.requests.length;
    const past = await ensureSpendData(services, midWindow, { reports: ['costs'] });
    expect(past).toHaveLength(1);
    expect(past[0]!.from).toEqual(midWindow.from);
    expect(past[0]!.to).toEqual(new Date(backfillFrom(DAY)));
    expect(sim.requests.length - mark).toBe(1);
    expect(await storedCostByDay()).toEqual(truthCostByDay(mid - 30 * DAY, currentBucketEnd(DAY)));
    expect(await db.store.spend.syncedFrom('costs')).toEqual(midWindow.from);
    mark = sim.requests.length;
    expect(await ensureSpendData(services, midWindow, { reports: ['costs'] })).toEqual([]);
    expect(sim.requests.length).toBe(mark);

    // A window that does not touch the ingested range is fetched, but the range does not grow over the gap.
    const old = mid - 60 * DAY;
    const oldWindow = { from: new Date(old - 30 * DAY), to: new Date(old + DAY) };
    await ensureSpendData(services, oldWindow, { reports: ['costs'] });
    expect(await db.store.spend.syncedFrom('costs')).toEqual(midWindow.from);
    const stored = await storedCostByDay();
    for (const [k, v] of truthCostByDay(old - 30 * DAY, old + DAY)) expect(stored.get(k)).toBe(v);
  });
});

describe('a malformed page from the API', () => {
  it('a bucket dated before the window asked for fails the sync instead of emptying the stored history', async () => {
    await syncCosts(services);
    const total = async () =>
      (await db.store.spendQueries.costByDay(new Date(0), new Date(nowMs + DAY))).reduce((s, d) => s + d.nanos, 0n);
    const before = await total();
    expect(before).toBeGreaterThan(0n);
    nowMs += HOUR;
    sim.faults.inject({
      path: COST_PATH,
      status: 200,
      body: {
        data: [{ starting_at: '1970-01-01T00:00:00Z', ending_at: '1970-01-02T00:00:00Z', results: [] }],
        has_more: false,
        next_page: null,
      },
    });
    await expect(syncCosts(services)).rejects.toThrow(/outside the window/);
    expect(await total()).toBe(before);
    expect((await db.store.spend.syncedFrom('costs'))!.getTime()).toBeGreaterThan(0);
  });
});
