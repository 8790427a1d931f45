/**
 * THE exactness test: the simulator serves 35 days of hourly usage (and the cost report derived from it) for an
 * organization of realistic size; Quartermaster ingests it through the Admin API (the real report client and the
 * sync), builds the digest of yesterday, and every number of the JSON digest is compared to the cent with totals
 * computed here, independently, in bigint, from the simulator's ground-truth rows (state.usageRows): the day's
 * cost, the 7-day average, month to date, the forecast, the top workspaces, keys and models (estimates: tokens ×
 * list prices, computed here from the simulator's price table), the token totals and the cache-read share.
 * SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedLarge } from '../../src/anthropic/simulator/state.js';
import { SIM_PRICES, type UsageRow, usageCostUnits } from '../../src/anthropic/simulator/usage.js';
import { buildDigest, digestJson } from '../../src/core/spend/digest.js';
import { usdString } from '../../src/core/spend/money.js';
import { ensureSpendData } from '../../src/core/spend/sync.js';
import { startTestApp, type TestApp } from '../support/app.js';

const DAY = 86_400_000;
let t: TestApp;
let json: any;
let D: Date;
let rows: UsageRow[];

/** Rounded half up (positive amounts). */
const div = (a: bigint, b: bigint) => (a * 2n + b) / (2n * b);
const sortDesc = <T>(entries: [string, T][], val: (v: T) => bigint, tie?: (v: T) => bigint) =>
  entries.sort((a, b) => {
    const x = val(a[1]);
    const y = val(b[1]);
    if (x !== y) return x > y ? -1 : 1;
    if (tie) {
      const p = tie(a[1]);
      const q = tie(b[1]);
      if (p !== q) return p > q ? -1 : 1;
    }
    return a[0] < b[0] ? -1 : 1;
  });

beforeAll(async () => {
  t = await startTestApp();
  // A mid-sized organization: 150 members, 12 workspaces, 300 keys (the active ones carry traffic).
  t.sim.state.clear();
  seedLarge(t.sim.state, { users: 150, workspaces: 12, keys: 300 });
  await t.qm.services.directory.sync();
  const now = Date.now();
  D = new Date(Math.floor(now / DAY) * DAY - DAY);
  await ensureSpendData(t.qm.services, { from: new Date(D.getTime() - 30 * DAY), to: new Date(D.getTime() + DAY) });
  json = digestJson(await buildDigest(t.qm.services, { day: D }));
  rows = t.sim.state.usageRows(D.getTime() - 35 * DAY, D.getTime() + DAY);
}, 300_000);
afterAll(async () => {
  await t?.close();
});

const costOfDays = (from: number, to: number) =>
  rows.filter((r) => r.hourStart >= from && r.hourStart < to).reduce((s, r) => s + usageCostUnits(r), 0n);

describe('the digest of a simulated month, to the cent', () => {
  it('has real traffic to compare', () => {
    const day = rows.filter((r) => r.hourStart >= D.getTime() && r.hourStart < D.getTime() + DAY);
    expect(new Set(day.map((r) => r.apiKeyId)).size).toBeGreaterThan(50);
    expect(json.cost.hasData).toBe(true);
  });

  it("the day's cost, the 7-day average, month to date and the forecast", () => {
    const d = D.getTime();
    const dayCost = costOfDays(d, d + DAY);
    expect(json.cost.day).toBe(usdString(dayCost));
    const prev7 = costOfDays(d - 7 * DAY, d);
    expect(json.cost.previous7Days).toBe(usdString(prev7));
    expect(json.cost.average7Days).toBe(usdString(div(prev7, 7n)));
    const monthStart = Date.UTC(D.getUTCFullYear(), D.getUTCMonth(), 1);
    const monthEnd = Date.UTC(D.getUTCFullYear(), D.getUTCMonth() + 1, 1);
    const mtd = costOfDays(monthStart, d + DAY);
    expect(json.month.toDate).toBe(usdString(mtd));
    const daysLeft = BigInt((monthEnd - (d + DAY)) / DAY);
    expect(json.month.daysLeft).toBe(Number(daysLeft));
    const last7 = costOfDays(d - 6 * DAY, d + DAY);
    expect(json.month.forecast).toBe(usdString(mtd + div(last7 * daysLeft, 7n)));
    expect(json.month.forecastMethod).toMatch(/last 7 days/);
  });

  it('the top workspaces (cost report)', () => {
    const d = D.getTime();
    const ws = new Map<string, bigint>();
    for (const r of rows) {
      if (r.hourStart < d || r.hourStart >= d + DAY) continue;
      const id = r.workspaceId ?? '';
      ws.set(id, (ws.get(id) ?? 0n) + usageCostUnits(r));
    }
    const top = sortDesc([...ws], (n) => n).slice(0, 5);
    expect(json.topWorkspaces.map((w: any) => [w.id, w.cost])).toEqual(
      top.map(([id, n]) => [id || null, usdString(n)]),
    );
    const names = new Map(t.sim.state.workspaces.map((w) => [w.id, w.name]));
    expect(json.topWorkspaces.map((w: any) => w.name)).toEqual(
      top.map(([id]) => (id === '' ? 'Default' : names.get(id))),
    );
  });

  it('the top keys and models (estimates), the tokens and the cache-read share', () => {
    const d = D.getTime();
    // Σ tokens × cents per million per (key, model, tier): milli-nano-dollars = tokens × cents/MTok × 10^4.
    const groups = new Map<string, { key: string; model: string; batch: boolean; milli: bigint; tokens: bigint }>();
    let total = 0n;
    let input = 0n;
    let read = 0n;
    for (const r of rows) {
      if (r.hourStart < d || r.hourStart >= d + DAY) continue;
      const p = SIM_PRICES[r.model]!;
      const milli =
        (BigInt(r.uncachedInput) * BigInt(p.in) +
          BigInt(r.cacheRead) * BigInt(p.read) +
          BigInt(r.cacheWrite5m) * BigInt(p.w5m) +
          BigInt(r.cacheWrite1h) * BigInt(p.w1h) +
          BigInt(r.output) * BigInt(p.out)) *
        10_000n;
      const tokens = BigInt(r.uncachedInput + r.cacheRead + r.cacheWrite5m + r.cacheWrite1h + r.output);
      const k = `${r.apiKeyId ?? ''}|${r.model}|${r.serviceTier}`;
      const g = groups.get(k) ?? {
        key: r.apiKeyId ?? '',
        model: r.model,
        batch: r.serviceTier === 'batch',
        milli: 0n,
        tokens: 0n,
      };
      g.milli += milli;
      g.tokens += tokens;
      groups.set(k, g);
      total += tokens;
      input += BigInt(r.uncachedInput + r.cacheRead + r.cacheWrite5m + r.cacheWrite1h);
      read += BigInt(r.cacheRead);
    }
    const perKey = new Map<string, { n: bigint; tokens: bigint }>();
    const perModel = new Map<string, { n: bigint; tokens: bigint }>();
    for (const g of groups.values()) {
      const n = div(g.milli, g.batch ? 2000n : 1000n);
      for (const [m, id] of [
        [perKey, g.key],
        [perModel, g.model],
      ] as const) {
        const acc = m.get(id) ?? { n: 0n, tokens: 0n };
        acc.n += n;
        acc.tokens += g.tokens;
        m.set(id, acc);
      }
    }
    const topKeys = sortDesc(
      [...perKey],
      (v) => v.n,
      (v) => v.tokens,
    ).slice(0, 5);
    expect(json.topKeys.map((k: any) => [k.id, k.estimatedCost, k.tokens, k.estimate])).toEqual(
      topKeys.map(([id, v]) => [id || null, usdString(v.n), v.tokens.toString(), true]),
    );
    const keyNames = new Map(t.sim.state.apiKeys.map((k) => [k.id, k.name]));
    expect(json.topKeys.map((k: any) => k.name)).toEqual(topKeys.map(([id]) => (id ? keyNames.get(id) : null)));
    const topModels = sortDesc(
      [...perModel],
      (v) => v.n,
      (v) => v.tokens,
    ).slice(0, 5);
    expect(json.topModels.map((m: any) => [m.model, m.estimatedCost, m.tokens, m.estimate])).toEqual(
      topModels.map(([id, v]) => [id, usdString(v.n), v.tokens.toString(), true]),
    );
    expect(json.tokens.day).toBe(total.toString());
    expect(json.tokens.cacheRead).toBe(read.toString());
    expect(json.tokens.cacheReadShare).toBe(Number((read * 1_000_000n) / input) / 1_000_000);
  });

  it('the 30 days of the chart add up to the cost report per day', () => {
    expect(json.daily).toHaveLength(30);
    for (const entry of json.daily as { day: string; byWorkspace: Record<string, string> }[]) {
      const start = Date.parse(`${entry.day}T00:00:00Z`);
      const cents = Object.values(entry.byWorkspace).reduce((s, v) => s + BigInt(v.replace('.', '')), 0n);
      const expected = costOfDays(start, start + DAY);
      // Each workspace is rounded to the cent on its own: the sum is within half a cent per workspace.
      const diff = cents * 10_000_000n - expected;
      expect(diff < 0n ? -diff : diff).toBeLessThanOrEqual(5_000_000n * BigInt(Object.keys(entry.byWorkspace).length));
    }
  });
});
