/**
 * Budgets fed by the real report syncs: `usage.sync` and `costs.sync` ingest the simulator's reports and check the
 * budgets right after, so a key budget alerts as soon as its usage arrives, once; a revised usage report (the
 * simulator's /_simulator/usage/revise) that takes the key back under its thresholds gets a back-under notice on
 * the next sync. Real Bolt against the fake Slack. Runs on SQLite and PostgreSQL (DB_PROVIDER).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOBS } from '../../src/core/jobs.js';
import { budgetSpend } from '../../src/core/limits/spend.js';
import type { Budget } from '../../src/core/ports/limits.js';
import { estimateNanos } from '../../src/core/spend/prices.js';
import { visibleText } from '../fakes/slack.js';
import { startTestApp, type TestApp, TestClock } from '../support/app.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const job = (name: string) => JOBS.find((j) => j.name === name)!;
const clock = new TestClock();
// 19:59 UTC yesterday: every hour of that day so far is in the simulator's past. (The test clock runs on from
// there, so the budget's hours are 00:00 to 19:00 for the whole test.)
const dayStart = Math.floor(Date.now() / DAY) * DAY - DAY;
const now = new Date(dayStart + 20 * HOUR - 60_000);
const CH = 'C0SYNCED';
let t: TestApp;
let budget: Budget;

const posts = () => [...t.slack.messages.values()].filter((m) => m.channel === CH).map((m) => visibleText(m));

beforeAll(async () => {
  clock.set(now);
  t = await startTestApp({ clock });
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('budgets checked after the report syncs', () => {
  it('a key budget alerts when usage.sync brings its usage in, once', async () => {
    expect(await job('usage.sync').run(t.qm.services)).not.toContain('limits');
    // The key that spent the most that day so far.
    const s = t.qm.services;
    const groups = await s.store.spendQueries.tokens(new Date(dayStart), now, ['apiKeyId', 'model', 'serviceTier']);
    const byKey = new Map<string, bigint>();
    for (const g of groups) {
      if (!g.apiKeyId) continue;
      const n = estimateNanos(g, g.model!, g.serviceTier!, s.policy.prices) ?? 0n;
      byKey.set(g.apiKeyId, (byKey.get(g.apiKeyId) ?? 0n) + n);
    }
    const [keyId, spent] = [...byKey].sort((x, y) => (y[1] > x[1] ? 1 : -1))[0]!;
    expect(spent).toBeGreaterThan(0n);
    const key = t.sim.state.apiKeys.find((k) => k.id === keyId)!;

    // A daily budget the key stands at 90 % of.
    ({ budget } = await s.store.limits.upsertBudget(
      {
        scope: 'key',
        targetId: key.id,
        targetName: key.name,
        workspaceId: key.scope_workspace_id ?? '',
        amountNanos: (spent * 10n) / 9n,
        period: 'day',
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
    const x = await budgetSpend(s, budget, now);
    expect(x.nanos).toBe(spent);
    expect(x.percent).toBeGreaterThanOrEqual(89.99);
    expect(x.percent).toBeLessThan(90.01);

    expect(await job('usage.sync').run(s)).toContain('; limits: 1 budgets, 2 alerts, 0 back under, 0 resets');
    expect(posts()).toHaveLength(1);
    expect(posts()[0]).toContain(`key *${key.name}*`);
    expect(posts()[0]).toContain('its 50% and 80% thresholds');
    expect(posts()[0]).toContain('(estimate');

    expect(await job('costs.sync').run(s)).toContain('; limits: 1 budgets, 0 alerts, 0 back under, 0 resets');
    expect(await job('usage.sync').run(s)).toContain('; limits: 1 budgets, 0 alerts, 0 back under, 0 resets');
    expect(posts()).toHaveLength(1);
  }, 120_000);

  it('a revised usage report that takes it back under gets a back-under notice at the next sync', async () => {
    for (let h = dayStart; h < now.getTime(); h += HOUR) {
      const res = await fetch(`${t.sim.url}/_simulator/usage/revise`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ apiKeyId: budget.targetId, hourStart: new Date(h).toISOString(), factor: 0 }),
      });
      expect(res.status).toBe(200);
    }
    expect(await job('usage.sync').run(t.qm.services)).toContain('; limits: 1 budgets, 0 alerts, 2 back under');
    expect(posts()).toHaveLength(2);
    expect(posts()[1]).toContain('Back under');
    expect(posts()[1]).toContain('back under its 50%, 80% thresholds');
    expect(posts()[1]).toContain('$0.00 (estimate)');
    expect((await budgetSpend(t.qm.services, budget, now)).nanos).toBe(0n);
  }, 60_000);
});
