/**
 * Review of the limits commands as the least privileged user and as an attacker, end to end on Slack (real Bolt
 * against the fake Slack, the Admin API simulator, a fresh database): a developer's budget request shows the approver
 * where its alerts would go and what budget it replaces; clearing an enforced budget says that the keys it set
 * inactive stay so, and how to restore them. Runs on SQLite and PostgreSQL (DB_PROVIDER).
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOBS } from '../../src/core/jobs.js';
import { type FakeSlackMessage, visibleText, waitFor } from '../fakes/slack.js';
import { linkChatUser, startTestApp, type TestApp, TestClock } from '../support/app.js';
import { costRow } from '../support/spend-rows.js';

const job = JOBS.find((j) => j.name === 'limits.check')!;
const clock = new TestClock();
const USD = 1_000_000_000n;
let t: TestApp;

const say = async (text: string, user = 'UALICE') => visibleText((await t.slack.command(t.url, text, user)).reply);
const ws = (name: string) => t.sim.state.workspaces.find((w) => w.name === name)!;
const status = async (id: string) => (await t.qm.store.approvals.get(id))!.status;

async function file(text: string, user: string): Promise<{ card: FakeSlackMessage; id: string; text: string }> {
  const before = new Set(t.slack.messages.keys());
  const said = await say(text, user);
  expect(said, said).toContain('Posted in this channel');
  const card = await waitFor(() =>
    [...t.slack.messages.values()].find((m) => !before.has(m.ts) && m.channel === 'C0GENERAL'),
  );
  const id = /Request ([0-9A-Z]{8})/.exec(visibleText(card))![1]!;
  return { card, id, text: visibleText(card) };
}

beforeAll(async () => {
  clock.set('2026-11-20T10:30:00Z');
  t = await startTestApp({
    clock,
    // research's keys come back only with an admin's approval (billing is an approver elsewhere, by default).
    policy: 'version: 1\nworkspaces:\n  research:\n    limit.reenable:\n      approvers: { roles: [admin] }\n',
  });
  await linkChatUser(t, 'slack', 'T0QM', 'UALICE', 'alice@example.com'); // admin
  await linkChatUser(t, 'slack', 'T0QM', 'UBOB', 'bob@example.com'); // developer in prod and staging
  await linkChatUser(t, 'slack', 'T0QM', 'UCAROL', 'carol@example.com'); // billing
  await t.qm.store.spend.setSyncedFrom('costs', new Date('2026-10-01T00:00:00Z'), clock.now());
  await t.qm.store.spend.setSyncedThrough('costs', new Date('2026-11-20T00:00:00Z'), clock.now());
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe("a developer's budget request, as the approver sees it", () => {
  it('names the channel its alerts would go to when it is not the channel asked in', async () => {
    const { text } = await file('limits set workspace staging 100 channel:C0ELSEWHERE', 'UBOB');
    expect(text).toMatch(/Budget of \$100\.00 a month for workspace staging/);
    expect(text).toContain('alerts at 50, 80, 100 % in another channel, C0ELSEWHERE');
    const here = await file('limits set workspace staging 200', 'UBOB');
    expect(here.text).toContain('alerts at 50, 80, 100 % in the channel it was asked in');
  });

  it('says which budget it replaces (an enforced one turned into alerts only, say)', async () => {
    expect(await say('limits set workspace prod 1000 enforce', 'UCAROL')).toContain('Budget set');
    const { card, id, text } = await file('limits set workspace prod 100000', 'UBOB');
    expect(text).toMatch(/replaces the budget of \$1,000\.00 a month \(enforced\)/);
    await t.slack.click(t.url, { user: 'UALICE', actionId: t.slack.buttons(card).Deny!, message: card });
    await waitFor(async () => (await status(id)) === 'denied' || undefined, 10_000);
  });
});

describe('clearing an enforced budget', () => {
  it('says the keys it set inactive stay inactive, and how to get them back', async () => {
    const staging = ws('staging').id;
    expect(await say('limits set workspace staging 10 enforce reenable:next_period', 'UCAROL')).toContain('Budget set');
    await t.qm.store.spend.replaceCosts(new Date('2026-11-02T00:00:00Z'), new Date('2026-11-03T00:00:00Z'), [
      costRow('2026-11-02', staging, 12n * USD),
    ]);
    expect(await job.run(t.qm.services)).toMatch(/1 enforced/);
    const b = (await t.qm.store.limits.findBudget('workspace', staging))!;
    const e = (await t.qm.store.limits.enforcementFor(b.id, '2026-11'))!;
    expect(e.keyIds.length).toBeGreaterThan(0);
    for (const id of e.keyIds)
      expect(t.sim.state.keyStatus(t.sim.state.apiKeys.find((k) => k.id === id)!)).toBe('inactive');

    // Raising it does not give the keys back either, and says so.
    const raised = await say('limits set workspace staging 1000', 'UCAROL');
    expect(raised).toContain('Budget changed');
    expect(raised).toMatch(
      new RegExp(
        `The ${e.keyIds.length} keys it set inactive in .2026-11. stay inactive until \\*Re-enable\\* on its alert card or the next period\\.`,
      ),
    );
    const cleared = await say('limits clear workspace staging', 'UCAROL');
    expect(cleared).toContain('Budget cleared for workspace');
    expect(cleared).toContain(`The ${e.keyIds.length} keys it set inactive in \`2026-11\` stay inactive`);
    expect(cleared).toContain('Re-enable');
  });
});

/** Clicks Re-enable on the card as first posted; resolves with the clicker's private notice, if any. */
async function clickReenable(user: string, card: FakeSlackMessage): Promise<string> {
  const original = card.history[0] ? { ...card, blocks: card.history[0].blocks } : card;
  const revisions = card.history.length;
  const r = await t.slack.click(t.url, { user, actionId: t.slack.buttons(original)['Re-enable']!, message: card });
  const notice = () => t.slack.responses.find((x) => x.id === r.responseId)?.body;
  await waitFor(() => notice() ?? (card.history.length > revisions || undefined), 5000);
  const body = notice() ?? (await waitFor(notice, 300).catch(() => null));
  return body ? visibleText(body) : '';
}

describe('Re-enable after the budget was cleared', () => {
  it("still follows the policy of the budget's workspace (clearing is no way around it)", async () => {
    const research = ws('research').id;
    expect(
      await say('limits set workspace research 10 enforce reenable:manual channel:C0RESEARCH', 'UCAROL'),
    ).toContain('Budget set');
    await t.qm.store.spend.replaceCosts(new Date('2026-11-03T00:00:00Z'), new Date('2026-11-04T00:00:00Z'), [
      costRow('2026-11-03', research, 12n * USD),
    ]);
    expect(await job.run(t.qm.services)).toMatch(/1 enforced/);
    const card = [...t.slack.messages.values()].find((m) => m.channel === 'C0RESEARCH')!;
    const b = (await t.qm.store.limits.findBudget('workspace', research))!;
    const e = (await t.qm.store.limits.enforcementFor(b.id, '2026-11'))!;
    expect(e.keyIds.length).toBeGreaterThan(0);
    const inactive = () => e.keyIds.map((id) => t.sim.state.keyStatus(t.sim.state.apiKeys.find((k) => k.id === id)!));

    // billing is not an approver of research's re-enabling...
    expect(await clickReenable('UCAROL', card), 'before the clear').toContain('You are not an approver');
    // ...and clearing the budget (which billing may) does not make them one.
    expect(await say('limits clear workspace research', 'UCAROL')).toContain('Budget cleared');
    expect(await clickReenable('UCAROL', card), 'after the clear').toContain('You are not an approver');
    expect(inactive().every((x) => x === 'inactive')).toBe(true);
    expect((await t.qm.store.limits.getEnforcement(e.id))?.reenabledAt).toBeNull();
  });
});

describe('bad amounts, as typed', () => {
  it('each gets a specific message and stores nothing', async () => {
    const before = (await t.qm.store.limits.listBudgets()).length;
    expect(await say('limits set workspace prod -5', 'UCAROL')).toMatch(
      /A budget must be more than \$0 \(you typed `-5`\)/,
    );
    expect(await say('limits set workspace prod 1e9', 'UCAROL')).toMatch(/`1e9` is not an amount/);
    expect(await say('limits set workspace prod $1,00', 'UCAROL')).toMatch(/`\$1,00` is not an amount/);
    expect(await say('limits set workspace prod NaN', 'UCAROL')).toMatch(/`NaN` is not an amount/);
    expect(await say('limits set workspace prod 1000000000.01', 'UCAROL')).toMatch(/more than the largest budget/);
    expect(await say('limits set workspace prod 100 week 50,,80 channel:<!channel>', 'UCAROL')).toMatch(
      /is not a channel/,
    );
    expect((await t.qm.store.limits.listBudgets()).length).toBe(before);
  });
});
