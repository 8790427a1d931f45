/**
 * Nothing is lost when an alert cannot be posted (the bot is not in the budget's channel: Slack answers
 * not_in_channel): the crossing is given back and alerted by the first run after the channel works; an enforced
 * budget whose card could not be posted gets its card, with Re-enable for exactly the keys it disabled, from a
 * later run, once. Real Bolt against the fake Slack, the simulator over HTTP. Runs on SQLite and PostgreSQL.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOBS } from '../../src/core/jobs.js';
import { visibleText } from '../fakes/slack.js';
import { startTestApp, type TestApp, TestClock } from '../support/app.js';
import { costRow } from '../support/spend-rows.js';

const job = JOBS.find((j) => j.name === 'limits.check')!;
const clock = new TestClock();
const USD = 1_000_000_000n;
const CH = 'C0NOBOT';
let t: TestApp;

const inChannel = () => [...t.slack.messages.values()].filter((m) => m.channel === CH);
const statusOf = (id: string) => t.sim.state.keyStatus(t.sim.state.apiKeys.find((k) => k.id === id)!);

beforeAll(async () => {
  clock.set('2026-11-20T10:30:00Z');
  t = await startTestApp({ clock });
  const now = clock.now();
  await t.qm.store.spend.setSyncedFrom('costs', new Date('2026-10-01T00:00:00Z'), now);
  await t.qm.store.spend.setSyncedThrough('costs', new Date('2026-11-20T00:00:00Z'), now);
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('alerts that could not be posted', () => {
  it('a crossing whose alert failed is alerted by the next run that can post, once', async () => {
    const ws = t.sim.state.workspaces.find((w) => w.name === 'prod')!.id;
    const active = t.sim.state.apiKeys.filter(
      (k) => k.scope_workspace_id === ws && t.sim.state.keyStatus(k) === 'active',
    );
    expect(active.length).toBeGreaterThan(0);
    await t.qm.store.limits.upsertBudget(
      {
        scope: 'workspace',
        targetId: ws,
        targetName: 'prod',
        workspaceId: ws,
        amountNanos: 100n * USD,
        period: 'month',
        timezone: 'UTC',
        thresholds: [50, 100],
        enforce: true,
        reenable: 'manual',
        platform: 'slack',
        teamId: 'T0QM',
        channelId: CH,
        createdBy: 'user_alice',
      },
      clock.now(),
    );
    const row = costRow('2026-11-02', ws, 150n * USD);
    await t.qm.store.spend.replaceCosts(new Date('2026-11-02T00:00:00Z'), new Date('2026-11-03T00:00:00Z'), [row]);

    t.slack.channelsWithoutBot.add(CH);
    await job.run(t.qm.services);
    // The post was tried and refused; the keys were disabled all the same (enforcement does not wait for chat).
    expect(t.slack.calls.some((c) => c.method === 'chat.postMessage' && c.args.channel === CH)).toBe(true);
    expect(inChannel()).toHaveLength(0);
    for (const k of active) expect(statusOf(k.id)).toBe('inactive');
    const [enforcement] = (await t.qm.store.limits.openEnforcements()).filter((e) => e.card === null);
    expect(enforcement?.keyIds.sort()).toEqual(active.map((k) => k.id).sort());

    // The channel works again. A run soon after the enforcement leaves its card to the run that made it, but
    // alerts the crossings it gave back.
    t.slack.channelsWithoutBot.delete(CH);
    clock.advance(60_000);
    await job.run(t.qm.services);
    expect(inChannel()).toHaveLength(1);
    const alert = visibleText(inChannel()[0]);
    expect(alert).toMatch(/50%/);
    expect(alert).toMatch(/100%/);
    expect(t.slack.buttons(inChannel()[0]!)['Re-enable']).toBeUndefined();

    // Later, the enforcement's card is posted once, with Re-enable for exactly its keys.
    clock.advance(15 * 60_000);
    await job.run(t.qm.services);
    await job.run(t.qm.services);
    expect(inChannel()).toHaveLength(2);
    const card = inChannel()[1]!;
    expect(t.slack.buttons(card)['Re-enable']).toBeTruthy();
    for (const k of active) expect(visibleText(card)).toContain(k.name);
    expect((await t.qm.store.limits.getEnforcement(enforcement!.id))?.card?.messageId).toBe(card.ts);
  }, 120_000);
});
