/**
 * `/qm limits set|show|clear` end to end: signed slash commands through the real Bolt against the fake Slack (one
 * request on Discord through the real discord.js), the Admin API simulator and a fresh database. Billing and admins
 * set and clear budgets directly; a developer's change is a `limit.set` request that exists as a budget only once an
 * approver clicks Approve; a `user` cannot see or name a key they cannot list (the answer is the one a key that
 * does not exist gets); bad input gets a specific message and stores nothing; `show` gives the exact spend written
 * through the store, with percent, forecast, the thresholds crossed and the enforcement. Periods are counted in the
 * policy's spend.timezone (Europe/Berlin here). Runs on SQLite and PostgreSQL (DB_PROVIDER).
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLimits } from '../../src/core/limits/check.js';
import { periodAt } from '../../src/core/limits/periods.js';
import type { UsageHourRow } from '../../src/core/ports/spend.js';
import type { FakeDiscord } from '../fakes/discord.js';
import { type FakeSlackMessage, visibleText, waitFor } from '../fakes/slack.js';
import { auditEntry, linkChatUser, startTestApp, type TestApp, TestClock } from '../support/app.js';
import { discordButtons, discordText, newDiscordCard } from '../support/discord-text.js';
import { costRow, usageRow } from '../support/spend-rows.js';

const POLICY = `
version: 1
spend:
  timezone: Europe/Berlin
`;
const NOW = '2026-11-20T10:30:00Z';
const USD = 1_000_000_000n;
const M = 1_000_000n;

let t: TestApp;
let d: FakeDiscord;
const clock = new TestClock();

const say = async (text: string, user = 'UALICE') => visibleText((await t.slack.command(t.url, text, user)).reply);
const budgets = () => t.qm.store.limits.listBudgets();
const budget = async (scope: 'org' | 'workspace' | 'key', name: string) =>
  (await budgets()).find((b) => b.scope === scope && (scope === 'org' || b.targetName === name)) ?? null;
const ws = (name: string) => t.sim.state.workspaces.find((w) => w.name === name)!;
const key = (name: string) => t.sim.state.apiKeys.find((k) => k.name === name)!;
const orgUser = (email: string) => t.sim.state.userByEmail(email)!;
const requestCount = async () => (await t.qm.store.approvals.list({ limit: 1000 })).length;
const status = async (id: string) => (await t.qm.store.approvals.get(id))!.status;

/** A request filed on Slack: the reply says the card was posted, and the card is in the channel. */
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

/** alice (admin) approves on Slack; resolves once the request is done and its card says so. */
async function approve(card: FakeSlackMessage, id: string): Promise<string> {
  await t.slack.click(t.url, { user: 'UALICE', actionId: t.slack.buttons(card).Approve!, message: card });
  await waitFor(async () => ['done', 'failed'].includes(await status(id)) || undefined, 10_000);
  expect(await status(id)).toBe('done');
  await waitFor(() => /Done:/.test(visibleText(card)) || undefined);
  return visibleText(card);
}

const usage = (hour: string, o: Partial<UsageHourRow>) =>
  usageRow(hour, { workspaceId: ws('prod').id, apiKeyId: key('prod-backend').id }, o);
const cost = (day: string, workspaceId: string, usd: bigint) => costRow(day, workspaceId, usd);

beforeAll(async () => {
  clock.set(NOW);
  t = await startTestApp({ clock, policy: POLICY, discord: true });
  d = t.discord!;
  await linkChatUser(t, 'discord', d.guildId, d.users.alice!.id, 'alice@example.com');
  await linkChatUser(t, 'discord', d.guildId, d.users.bob!.id, 'bob@example.com');
  // The reports as ingested: the cost report complete through 2026-11-19 (UTC), usage to the hour.
  await t.qm.store.spend.replaceCosts(new Date('2026-10-01T00:00:00Z'), new Date('2026-11-20T00:00:00Z'), [
    cost('2026-11-16', ws('prod').id, 100n * USD),
    cost('2026-11-18', ws('prod').id, 20025n * 10_000_000n), // $200.25
    cost('2026-11-05', ws('staging').id, 2500n * USD),
    cost('2026-10-20', ws('staging').id, 9999n * USD), // last month: not counted
  ]);
  await t.qm.store.spend.replaceUsage(new Date('2026-10-01T00:00:00Z'), new Date('2026-11-21T00:00:00Z'), [
    // Today, after the last complete cost day: 1M Sonnet 4.5 input tokens, $3 at list prices.
    usage('2026-11-20T08:00:00Z', { uncachedInput: M }),
    // On a day the cost report covers: in the key's estimate (this week), not on top of the workspace's cost.
    usage('2026-11-18T12:00:00Z', { apiKeyId: key('prod-worker').id, output: M }),
  ]);
  await t.qm.store.spend.setSyncedFrom('costs', new Date('2026-10-01T00:00:00Z'), new Date());
  await t.qm.store.spend.setSyncedThrough('costs', new Date('2026-11-20T00:00:00Z'), new Date());
  await t.qm.store.spend.setSyncedFrom('usage', new Date('2026-10-01T00:00:00Z'), new Date());
  await t.qm.store.spend.setSyncedThrough('usage', new Date('2026-11-20T10:00:00Z'), new Date());
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('limits set: parsing', () => {
  it('says what is wrong with each option, and stores nothing', async () => {
    expect(await say('limits set workspace prod 12x')).toMatch(/`12x` is not an amount: give it in US dollars/);
    expect(await say('limits set workspace prod 0')).toMatch(/A budget must be more than \$0/);
    expect(await say('limits set workspace prod 5.123')).toMatch(/fractions of a cent/);
    expect(await say('limits set workspace prod 100 month 50,abc')).toMatch(
      /`abc` is not a threshold: give whole percents from 1 to 1000/,
    );
    expect(await say('limits set workspace prod 100 month 0,50')).toMatch(/`0` is not a threshold/);
    expect(await say('limits set workspace prod 100 month 50,1001')).toMatch(/`1001` is not a threshold/);
    expect(await say('limits set workspace prod 100 year')).toMatch(/`period` must be one of `day`, `week`, `month`/);
    expect(await say('limits set workspace prod 100 channel:general')).toMatch(
      /`general` is not a channel: mention it/,
    );
    expect(await say('limits set workspace prod 100 reenable:manual')).toMatch(/`reenable` is for enforced budgets/);
    expect(await say('limits set galaxy prod 100')).toMatch(/`scope` must be one of `org`, `workspace`, `key`/);
    expect(await say('limits set org')).toMatch(/`amount` is required/);
    expect(await say('limits set org 5000 target:prod')).toMatch(/An org budget names no target \(you gave `prod`\)/);
    expect(await say('limits set workspace prodd 100')).toMatch(/no workspace called `prodd`\. Did you mean `prod`/);
    expect(await say('limits set workspace default 100')).toMatch(/Default workspace cannot have a workspace budget/);
    expect(await say('limits set key no-such-key 100')).toMatch(/No API key has the id or name `no-such-key`/);
    expect(await budgets()).toEqual([]);
    const entry = await auditEntry(
      t,
      (e) => e.action === 'limits set' && JSON.stringify(e.options).includes('no-such-key'),
    );
    expect(entry).toMatchObject({ outcome: 'failed', errorCode: 'NOT_FOUND', actorId: 'UALICE' });
    const typo = await auditEntry(t, (e) => e.action === 'limits set' && JSON.stringify(e.options).includes('12x'));
    expect(typo).toMatchObject({ outcome: 'failed', errorCode: 'INVALID_INPUT' });
  });
});

describe('limits set: billing and admins directly', () => {
  it('an admin sets the org budget with `limits set org $5,000`: month, 50/80/100, in the policy time zone', async () => {
    const said = await say('limits set org $5,000');
    expect(said).toContain('Budget set');
    expect(said).toMatch(/\$5,000\.00\S* a month for the organization; alerts at 50 %, 80 %, 100 %; alerts only/);
    expect(said).toContain('Alerts go to this channel');
    expect(said).toContain('calendar months in `Europe/Berlin`');
    const b = (await budget('org', ''))!;
    expect(b).toMatchObject({
      scope: 'org',
      targetId: '',
      workspaceId: '',
      amountNanos: 5000n * USD,
      period: 'month',
      timezone: 'Europe/Berlin',
      thresholds: [50, 80, 100],
      enforce: false,
      reenable: 'next_period',
      platform: 'slack',
      teamId: 'T0QM',
      channelId: 'C0GENERAL',
      createdBy: orgUser('alice@example.com').id,
    });
    // Nothing was filed: admins do not ask themselves.
    expect(await requestCount()).toBe(0);
  });

  it('billing sets an enforced weekly workspace budget to another channel; 100 % is added to enforce at', async () => {
    const said = await say(
      'limits set workspace prod 1200.50 week 80,50,80 enforce channel:<#C0ALERTS|alerts>',
      'UCAROL',
    );
    expect(said).toContain('Budget set');
    expect(said).toContain('100 % was added to the thresholds');
    expect(said).toContain('Alerts go to <#C0ALERTS>');
    expect((await budget('workspace', 'prod'))!).toMatchObject({
      targetId: ws('prod').id,
      workspaceId: ws('prod').id,
      amountNanos: 120050n * 10_000_000n,
      period: 'week',
      thresholds: [50, 80, 100],
      enforce: true,
      reenable: 'next_period',
      channelId: 'C0ALERTS',
      createdBy: orgUser('carol@example.com').id,
    });
    // The same again changes nothing and says so; one budget per target.
    expect(await say('limits set workspace prod 1200.50 week 50,80,100 enforce channel:C0ALERTS', 'UCAROL')).toContain(
      'Budget unchanged',
    );
    expect((await budgets()).filter((b) => b.scope === 'workspace')).toHaveLength(1);
    expect(await requestCount()).toBe(0);
  });

  it('a billing member who lost the role since the last sync is not let through on the synced copy', async () => {
    const carol = t.sim.state.userByEmail('carol@example.com')!;
    carol.role = 'developer';
    try {
      // Now a developer who is in no workspace: staging's budget is not theirs to see or ask for.
      expect(await say('limits set workspace staging 10', 'UCAROL')).toMatch(
        /You do not see the usage of workspace \*?staging/,
      );
      expect(await budget('workspace', 'staging')).toBeNull();
    } finally {
      carol.role = 'billing';
      await t.qm.services.directory.sync();
    }
  });
});

describe('limits set: everyone else asks', () => {
  it("a developer's key budget is a limit.set request; once an admin approves, the budget exists", async () => {
    const before = await requestCount();
    const { card, id, text } = await file('limits set key prod-backend 250.50 day reason:"cap the canary"', 'UBOB');
    expect(await requestCount()).toBe(before + 1);
    expect(text).toContain('limit.set');
    expect(text).toMatch(/Budget of \$250\.50 a day for key prod-backend, alerts at 50, 80, 100 %/);
    expect(text).toContain('cap the canary');
    expect(await budget('key', 'prod-backend')).toBeNull();
    const done = await approve(card, id);
    expect(done).toMatch(/Budget set: \S*\$250\.50\S* a day for key \S*prod-backend/);
    expect((await budget('key', 'prod-backend'))!).toMatchObject({
      targetId: key('prod-backend').id,
      workspaceId: ws('prod').id,
      amountNanos: 25050n * 10_000_000n,
      period: 'day',
      timezone: 'Europe/Berlin',
      channelId: 'C0GENERAL',
      createdBy: orgUser('bob@example.com').id,
    });
  });

  it('a developer cannot ask for the org budget (only billing and admins see org spend)', async () => {
    const before = await requestCount();
    expect(await say('limits set org 100', 'UBOB')).toContain("Only billing and admins see the organization's spend");
    expect(await requestCount()).toBe(before);
  });

  it('a `user` cannot see or name a key they cannot list: the same answer as a key that does not exist', async () => {
    const before = await requestCount();
    // dave is workspace_user in research: he does not see research's keys.
    const hidden = await say('limits set key research-notebook 10', 'UDAVE');
    const missing = await say('limits set key research-notebookz 10', 'UDAVE');
    expect(hidden).toContain('No API key you can see has the id or name `research-notebook`');
    expect(hidden.replaceAll('research-notebook', 'X')).toBe(missing.replaceAll('research-notebookz', 'X'));
    // By id too.
    const byId = await say(`limits set key ${key('research-notebook').id} 10`, 'UDAVE');
    expect(byId).toContain('No API key you can see has the id or name');
    // Nor may he ask for a budget on a workspace whose usage he does not see.
    expect(await say('limits set workspace research 10', 'UDAVE')).toMatch(/You do not see the usage of workspace/);
    expect(await requestCount()).toBe(before);
    // show and clear answer alike.
    const shown = await say('limits show key research-notebook', 'UDAVE');
    expect(shown.replaceAll('research-notebook', 'X')).toContain('No API key you can see has the id or name `X`');
    expect(await say('limits clear key prod-backend', 'UDAVE')).toContain(
      'No API key you can see has the id or name `prod-backend`',
    );
    expect(await budget('key', 'prod-backend')).not.toBeNull();
  });

  it('on Discord: a developer asks with typed options, an admin clicks Approve, the budget exists', async () => {
    const before = new Set(d.messages.keys());
    const sent = d.sendCommand({
      user: 'bob',
      group: 'limits',
      subcommand: 'set',
      args: { scope: 'workspace', target: 'staging', amount: '$300', period: 'week', thresholds: '90' },
    });
    const reply = discordText(await d.replyTo(sent.id, 10_000));
    expect(reply, reply).toContain('Posted in this channel');
    const { card, id } = await newDiscordCard(d, before);
    expect(discordText(card)).toMatch(/Budget of \$300\.00 a week for workspace staging, alerts at 90 %/);
    expect(await budget('workspace', 'staging')).toBeNull();
    d.sendButton({ user: 'alice', customId: discordButtons(card).Approve!, messageId: card.id });
    await d.waitUntil(() => /Done:/.test(discordText(d.messages.get(card.id))) || undefined, 15_000, `${id} done`);
    expect((await budget('workspace', 'staging'))!).toMatchObject({
      targetId: ws('staging').id,
      amountNanos: 300n * USD,
      period: 'week',
      thresholds: [90],
      platform: 'discord',
      teamId: d.guildId,
      channelId: d.channelId,
      createdBy: orgUser('bob@example.com').id,
    });
  });
});

describe('limits show', () => {
  it('lists each budget with its exact spend so far, percent, forecast, period dates in its zone and crossings', async () => {
    // The org's spend this month crosses 50 %: the job alerts (once) and records it.
    const sum = await checkLimits(t.qm.services);
    expect(sum.crossings).toBeGreaterThanOrEqual(1);
    const orgBudget = (await budget('org', ''))!;
    const month = periodAt('month', 'Europe/Berlin', clock.now());
    expect((await t.qm.store.limits.alerts(orgBudget.id, month.key)).map((a) => a.threshold)).toEqual([50]);
    // As if an earlier run had enforced prod's budget this week (two keys set inactive).
    const prodBudget = (await budget('workspace', 'prod'))!;
    const week = periodAt('week', 'Europe/Berlin', clock.now());
    await t.qm.store.limits.createEnforcement(
      prodBudget.id,
      week.key,
      [key('prod-chat').id, key('prod-search').id],
      new Date('2026-11-19T08:00:00Z'),
    );

    const shown = await say('limits show');
    const org = shown.split('\n').find((l) => l.startsWith('The organization'))!;
    // Costs $100 + $200.25 + $2,500 (complete UTC days) + $3 of usage today.
    expect(org).toMatch(/\$2,803\.25\S* \(of which \$3\.00 estimated\) of \$5,000\.00 this month \(56\.1 %\)/);
    expect(org).toMatch(/forecast \$4,31\d\.\d\d/);
    expect(shown).toContain('Month 2026-11-01 to 2026-11-30 (Europe/Berlin)');
    expect(shown).toMatch(/crossed: 50 %/);
    const prod = shown.split('\n').find((l) => /^Workspace \S*prod/.test(l))!;
    expect(prod).toMatch(/\$303\.25\S* \(of which \$3\.00 estimated\) of \$1,200\.50 this week \(25\.3 %\)/);
    expect(shown).toContain('Week 2026-11-16 to 2026-11-22 (Europe/Berlin)');
    expect(shown).toContain('Enforced: 2 keys set inactive by it since 2026-11-19 08:00 UTC');
    expect(shown).toContain('to <#C0ALERTS>');
    const backend = shown.split('\n').find((l) => /^Key \S*prod-backend/.test(l))!;
    // Today in Berlin: $3 of $250.50, an estimate.
    expect(backend).toMatch(/\$3\.00\S* \(estimate\) of \$250\.50 today \(1\.2 %\)/);
    expect(shown).toContain('Day 2026-11-20 (Europe/Berlin)');
    expect(shown).toContain('Discord channel');
  });

  it('shows each caller only what they may see, and how to set one when there is none', async () => {
    const bob = await say('limits show', 'UBOB');
    expect(bob).not.toContain('organization:');
    expect(bob).not.toMatch(/^The organization/m);
    expect(bob).toMatch(/^Workspace \S*prod/m);
    expect(bob).toMatch(/^Key \S*prod-backend/m);
    expect(bob).toMatch(/^Workspace \S*staging/m);
    const dave = await say('limits show', 'UDAVE');
    expect(dave).toContain('No budgets you can see');
    expect(dave).toContain('asks billing or an admin to set one');
    expect(dave).not.toContain('prod');
    expect(await say('limits show org', 'UBOB')).toContain("Only billing and admins see the organization's spend");
    expect(await say('limits show key prod-worker', 'UBOB')).toMatch(/Key \S*prod-worker\S* has no budget/);
    expect(await say('limits show workspace')).toMatch(/^Workspace \S*prod/m);
  });
});

describe('limits clear', () => {
  it("a developer's clear is a request; billing clears directly; clearing again says there is none", async () => {
    const { card, id, text } = await file('limits clear key prod-backend', 'UBOB');
    expect(text).toMatch(/Remove the budget of \$250\.50 a day for key prod-backend/);
    expect(await budget('key', 'prod-backend')).not.toBeNull();
    expect(await approve(card, id)).toContain('Budget cleared for key');
    expect(await budget('key', 'prod-backend')).toBeNull();

    expect(await say('limits clear workspace prod', 'UCAROL')).toMatch(
      /Budget cleared for workspace \S*prod\S* \(it was \$1,200\.50 a week\)/,
    );
    expect(await budget('workspace', 'prod')).toBeNull();
    expect(await say('limits clear workspace prod', 'UCAROL')).toMatch(/Workspace \S*prod\S* has no budget/);
    expect(await say('limits clear org')).toContain('Budget cleared for the organization');
    expect((await budgets()).map((b) => b.targetName)).toEqual(['staging']);
    await auditEntry(t, (e) => e.action === 'limits clear' && e.outcome === 'allowed' && e.actorId === 'UALICE');
  });
});
