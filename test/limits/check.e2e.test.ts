/**
 * The job `limits.check` on two replicas (two Quartermasters, each with its own fake Slack, on one database):
 * each threshold alerts exactly once per budget, period and threshold over repeated and concurrent runs; a
 * revised cost report that brings spend back under gets one "back under" notice; the period reset gets one
 * "new period" notice per budget. Spend is written through the store, so every number is exact. Runs on SQLite
 * and PostgreSQL (DB_PROVIDER).
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOBS } from '../../src/core/jobs.js';
import { checkLimits } from '../../src/core/limits/check.js';
import type { Budget } from '../../src/core/ports/limits.js';
import { visibleText } from '../fakes/slack.js';
import { startTestApp, type TestApp, TestClock } from '../support/app.js';
import { createTestDatabaseUrl, testProvider } from '../support/db.js';
import { costRow } from '../support/spend-rows.js';

const job = JOBS.find((j) => j.name === 'limits.check')!;
const clock = new TestClock();
const USD = 1_000_000_000n;
const W = 'wrkspc_limits_research';
const CH = 'C0ALERTS';
let db: { url: string; drop(): Promise<void> };
let a: TestApp;
let b: TestApp;
let budget: Budget;

const cost = (day: string, usd: string) => costRow(day, W, BigInt(usd) * USD);

/** The cost report for 2 November, as a (re)sync writes it. */
const reportCosts = (usd: string) =>
  a.qm.store.spend.replaceCosts(new Date('2026-11-02T00:00:00Z'), new Date('2026-11-03T00:00:00Z'), [
    cost('2026-11-02', usd),
  ]);

/** What both replicas posted in the budget's channel, in the order the tests saw it come. */
const seen: string[] = [];
const taken = new Set<unknown>();
const posted = (): string[] => {
  for (const t of [a, b]) {
    for (const m of t.slack.messages.values()) {
      if (m.channel !== CH || taken.has(m)) continue;
      taken.add(m);
      seen.push(visibleText(m));
    }
  }
  return seen;
};

beforeAll(async () => {
  db = await createTestDatabaseUrl();
  clock.set('2026-11-20T10:30:00Z');
  [a, b] = await Promise.all([
    startTestApp({ clock, env: { DATABASE_URL: db.url } }),
    startTestApp({ clock, env: { DATABASE_URL: db.url } }),
  ]);
  const now = clock.now();
  await a.qm.store.spend.setSyncedFrom('costs', new Date('2026-10-01T00:00:00Z'), now);
  await a.qm.store.spend.setSyncedThrough('costs', new Date('2026-11-20T00:00:00Z'), now);
  ({ budget } = await a.qm.store.limits.upsertBudget(
    {
      scope: 'workspace',
      targetId: W,
      targetName: 'Research *R&D*',
      workspaceId: W,
      amountNanos: 100n * USD,
      period: 'month',
      timezone: 'UTC',
      thresholds: [50, 80, 100],
      enforce: false,
      reenable: 'manual',
      platform: 'slack',
      teamId: 'T0QM',
      channelId: CH,
      createdBy: 'user_alice',
    },
    now,
  ));
}, 90_000);
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await db?.drop();
});

/**
 * Both replicas run the check, twice each, at once. On SQLite the two replicas' runs take turns: two SQLite
 * clients in one process would block each other (a write waiting for the lock sleeps the thread the other needs to
 * commit), which separate processes, as real replicas are, do not; each replica's own runs still overlap.
 */
const bothReplicas = async () => {
  const run = (ts: TestApp[]) => Promise.all(ts.map((t) => checkLimits(t.qm.services)));
  const runs =
    testProvider() === 'postgres' ? await run([a, b, a, b]) : [...(await run([a, a])), ...(await run([b, b]))];
  return runs.reduce((n, r) => n + r.crossings, 0);
};

describe('limits.check', () => {
  it('says nothing under the first threshold', async () => {
    await reportCosts('40');
    expect(await job.run(a.qm.services)).toBe('1 budgets, 0 alerts, 0 back under, 0 resets');
    expect(posted()).toEqual([]);
  }, 30_000);

  it('alerts a crossed threshold once, with concurrent runs on two replicas and repeated runs', async () => {
    await reportCosts('60');
    expect(await bothReplicas()).toBe(1);
    expect(posted()).toHaveLength(1);
    const alert = posted()[0]!;
    expect(alert).toContain('Budget alert');
    expect(alert).toContain('its 50% threshold');
    expect(alert).toContain('$60.00 of $100.00');
    expect(alert).toContain('$60.00 (exact, from the cost report)');
    expect(alert).toContain('$100.00 per month');
    expect(alert).toContain('60%');
    expect(alert).toContain('2026-11');
    expect(alert).toContain('/qm limits show');
    // The name is the user's, shown as text: its markup characters are escaped, not rendered.
    expect(alert).toContain('R&amp;D');
    expect(alert).not.toContain('*R&amp;D*');
    // 60 over 19.4375 of 30 days.
    expect(alert).toContain('$92.60 for the whole period');

    expect(await bothReplicas()).toBe(0);
    expect(await job.run(b.qm.services)).toBe('1 budgets, 0 alerts, 0 back under, 0 resets');
    expect(posted()).toHaveLength(1);
  }, 30_000);

  it('the next threshold alerts once too, naming only itself', async () => {
    await reportCosts('85');
    expect(await bothReplicas()).toBe(1);
    expect(posted()).toHaveLength(2);
    expect(posted()[1]).toContain('its 80% threshold');
    expect(posted()[1]).not.toContain('50%');
    expect(await bothReplicas()).toBe(0);
    expect(posted()).toHaveLength(2);
  }, 30_000);

  it('a revised report that falls back under gets one back-under notice; crossing again alerts again', async () => {
    await reportCosts('70');
    await bothReplicas();
    expect(posted()).toHaveLength(3);
    expect(posted()[2]).toContain('Back under');
    expect(posted()[2]).toContain('back under its 80% threshold');
    expect(posted()[2]).toContain('$70.00 of $100.00');
    await bothReplicas();
    expect(posted()).toHaveLength(3);
    const rows = await a.qm.store.limits.alerts(budget.id, '2026-11');
    expect(rows.map((r) => [r.threshold, r.state])).toEqual([
      [50, 'over'],
      [80, 'under'],
    ]);

    await reportCosts('120');
    expect(await bothReplicas()).toBe(2);
    expect(posted()).toHaveLength(4);
    expect(posted()[3]).toContain('its 80% and 100% thresholds');
    expect(posted()[3]).toContain('120%');
  }, 30_000);

  it('a new period gets one "new period, back under" notice per budget, not one per threshold', async () => {
    clock.set('2026-12-01T00:30:00Z');
    await bothReplicas();
    expect(posted()).toHaveLength(5);
    expect(posted()[4]).toContain('New period');
    expect(posted()[4]).toContain('2026-12');
    expect(posted()[4]).toContain('In `2026-11` it had passed 100%');
    expect(await job.run(a.qm.services)).toBe('1 budgets, 0 alerts, 0 back under, 0 resets');
    expect(posted()).toHaveLength(5);
    const rows = await a.qm.store.limits.alerts(budget.id, '2026-11');
    expect(rows.every((r) => r.state === 'over' && r.resetAt !== null)).toBe(true);
  }, 30_000);
});
