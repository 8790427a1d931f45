/**
 * budgetSpend on the test database (rows written through the store, so every number is exact): key budgets are
 * the key's usage × list prices; workspace and org budgets take the cost report for the whole UTC days it has
 * written completely inside the period and usage × prices for the rest (the period's partial UTC days in Berlin,
 * and the hours since the last complete cost day). Runs on SQLite and PostgreSQL (DB_PROVIDER).
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodAt } from '../../src/core/limits/periods.js';
import { budgetSpend, spendIn } from '../../src/core/limits/spend.js';
import type { Budget } from '../../src/core/ports/limits.js';
import type { UsageHourRow } from '../../src/core/ports/spend.js';
import type { Services } from '../../src/core/services.js';
import { startTestApp, type TestApp, TestClock } from '../support/app.js';
import { costRow, usageRow } from '../support/spend-rows.js';

let t: TestApp;
let s: Services;
const clock = new TestClock();
const USD = 1_000_000_000n;
const NOW = new Date('2026-11-20T10:30:00Z');
const W = 'wrkspc_budget_w';
const OTHER = 'wrkspc_budget_other';

const budget = (over: Partial<Budget>): Budget => ({
  id: 'b1',
  scope: 'workspace',
  targetId: W,
  targetName: 'W',
  workspaceId: W,
  amountNanos: 100n * USD,
  period: 'month',
  timezone: 'Europe/Berlin',
  thresholds: [50, 80, 100],
  enforce: false,
  reenable: 'manual',
  platform: 'slack',
  teamId: 'T0QM',
  channelId: 'C0BUDGET',
  createdBy: 'user_x',
  createdAt: NOW,
  updatedAt: NOW,
  ...over,
});

const usage = (hour: string, o: Partial<UsageHourRow>) => usageRow(hour, { workspaceId: W, apiKeyId: 'apikey_a' }, o);
/** `usd` in dollars and cents, e.g. '20.50'. */
const cost = (day: string, workspaceId: string, usd: string) =>
  costRow(day, workspaceId, BigInt(Math.round(Number(usd) * 100)) * 10_000_000n);

const M = 1_000_000n;

beforeAll(async () => {
  clock.set(NOW);
  t = await startTestApp({ clock });
  s = t.qm.services;
  await s.store.spend.replaceUsage(new Date('2026-10-31T00:00:00Z'), new Date('2026-11-21T00:00:00Z'), [
    // Before the Berlin month starts (23:00 UTC): not counted.
    usage('2026-10-31T22:00:00Z', { uncachedInput: M }),
    // The month's first local hour, on a UTC day the cost report holds only partly for this month: $3.
    usage('2026-10-31T23:00:00Z', { uncachedInput: M }),
    // On a day the cost report covers: $15 for the key, nothing extra for the workspace.
    usage('2026-11-05T12:00:00Z', { output: M }),
    // After the last complete cost day: batch halves the price, $15.
    usage('2026-11-19T05:00:00Z', { output: 2n * M, serviceTier: 'batch' }),
    // The current hour, another key of the workspace: $1 (Haiku 4.5).
    usage('2026-11-20T10:00:00Z', { apiKeyId: 'apikey_b', model: 'claude-haiku-4-5-20251001', uncachedInput: M }),
    // A model without a price counts nothing.
    usage('2026-11-20T09:00:00Z', { apiKeyId: 'apikey_b', model: 'mystery-model', uncachedInput: 50n * M }),
    // After now: not counted.
    usage('2026-11-20T11:00:00Z', { uncachedInput: M }),
    // Another workspace: $3, counted for the organization only.
    usage('2026-11-19T06:00:00Z', { workspaceId: OTHER, apiKeyId: 'apikey_o', uncachedInput: M }),
  ]);
  await s.store.spend.replaceCosts(new Date('2026-10-31T00:00:00Z'), new Date('2026-11-20T00:00:00Z'), [
    cost('2026-10-31', W, '100'), // a UTC day not wholly inside the Berlin month
    cost('2026-11-01', W, '10'),
    cost('2026-11-10', W, '20.50'),
    cost('2026-11-18', W, '5'),
    cost('2026-11-19', W, '7'), // written, but the report's partial current day when last synced
    cost('2026-11-02', OTHER, '1000'),
  ]);
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('budgetSpend', () => {
  it('before the cost report has been synced, a workspace budget is all usage × prices', async () => {
    const x = await budgetSpend(s, budget({}), NOW);
    expect(x.period.key).toBe('2026-11');
    expect(x.period.start.toISOString()).toBe('2026-10-31T23:00:00.000Z');
    expect(x.exactNanos).toBe(0n);
    expect(x.estimatedNanos).toBe(34n * USD); // 3 + 15 + 15 + 1
    expect(x.estimate).toBe(true);
  });

  it('a workspace budget: the cost report for its complete UTC days, usage × prices for the rest', async () => {
    await s.store.spend.setSyncedFrom('costs', new Date('2026-10-01T00:00:00Z'), NOW);
    await s.store.spend.setSyncedThrough('costs', new Date('2026-11-19T00:00:00Z'), NOW);
    const x = await budgetSpend(s, budget({}), NOW);
    expect(x.exactNanos).toBe(35_500_000_000n); // 10 + 20.50 + 5
    expect(x.estimatedNanos).toBe(19n * USD); // 3 (Oct 31 23:00) + 15 (Nov 19 batch) + 1 (Nov 20)
    expect(x.nanos).toBe(54_500_000_000n);
    expect(x.estimate).toBe(true);
    expect(x.percent).toBe(54.5);
    // 467.5 of the month's 720 hours have passed.
    expect(x.forecastNanos).toBe(83_935_828_877n);
  });

  it('in UTC the same workspace has no partial first day', async () => {
    const x = await budgetSpend(s, budget({ timezone: 'UTC' }), NOW);
    expect(x.period.start.toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(x.exactNanos).toBe(35_500_000_000n);
    expect(x.estimatedNanos).toBe(16n * USD);
    expect(x.percent).toBe(51.5);
  });

  it('the organization counts every workspace', async () => {
    const x = await budgetSpend(s, budget({ scope: 'org', targetId: '', targetName: '', workspaceId: '' }), NOW);
    expect(x.exactNanos).toBe(1_035_500_000_000n);
    expect(x.estimatedNanos).toBe(22n * USD);
    expect(x.percent).toBe(1057.5);
  });

  it('a key budget is its usage × prices over the whole period, labelled an estimate', async () => {
    const x = await budgetSpend(
      s,
      budget({ scope: 'key', targetId: 'apikey_a', targetName: 'ci', amountNanos: 40n * USD }),
      NOW,
    );
    expect(x.exactNanos).toBe(0n);
    expect(x.estimatedNanos).toBe(33n * USD); // 3 + 15 + 15
    expect(x.nanos).toBe(33n * USD);
    expect(x.estimate).toBe(true);
    expect(x.percent).toBe(82.5);
  });

  it("a past period wholly covered by the cost report is exact; no forecast in a period's first hour", async () => {
    const day = budget({ period: 'day', timezone: 'UTC' });
    const x = await spendIn(s, day, periodAt('day', 'UTC', new Date('2026-11-10T12:00:00Z')), NOW);
    expect(x.period.key).toBe('2026-11-10');
    expect(x.exactNanos).toBe(20_500_000_000n);
    expect(x.estimatedNanos).toBe(0n);
    expect(x.estimate).toBe(false);
    expect(x.forecastNanos).toBe(20_500_000_000n);
    const early = await budgetSpend(s, day, new Date('2026-11-20T00:30:00Z'));
    expect(early.forecastNanos).toBeNull();
  });
});
