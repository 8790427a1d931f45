/**
 * The budget flow as a user meets it, on Slack (real Bolt against the fake Slack) and on Discord (real discord.js
 * against the fake gateway and REST), with the Admin API simulator over HTTP on the same clock: an admin sets an
 * enforced budget with the slash command, the report syncs run (as their jobs do) and check the budgets, the
 * alert card appears in the channel with the workspace's keys set inactive and a Re-enable button, a developer's
 * click is refused, and an admin's click restores exactly those keys and updates the card.
 * Runs on SQLite and PostgreSQL (DB_PROVIDER).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOBS } from '../../src/core/jobs.js';
import type { FakeDiscord } from '../fakes/discord.js';
import { type FakeSlackMessage, visibleText, waitFor } from '../fakes/slack.js';
import { linkChatUser, startTestApp, type TestApp, TestClock } from '../support/app.js';
import { discordButtons, discordText } from '../support/discord-text.js';

const clock = new TestClock();
const run = (name: string) => JOBS.find((j) => j.name === name)!.run(t.qm.services);
let t: TestApp;
let d: FakeDiscord;

const workspaceId = (name: string) => t.sim.state.workspaces.find((w) => w.name === name)!.id;
const keysOf = (ws: string) => t.sim.state.apiKeys.filter((k) => k.scope_workspace_id === workspaceId(ws));
const statusOf = (id: string) => t.sim.state.keyStatus(t.sim.state.apiKeys.find((k) => k.id === id)!);

beforeAll(async () => {
  // A fixed instant, so the month so far has spend in every seeded workspace.
  clock.set('2026-11-20T10:30:00Z');
  t = await startTestApp({ clock, discord: true, simulatorOnClock: true });
  d = t.discord!;
  await linkChatUser(t, 'slack', 'T0QM', 'UALICE', 'alice@example.com'); // admin
  await linkChatUser(t, 'slack', 'T0QM', 'UBOB', 'bob@example.com'); // developer
  await linkChatUser(t, 'discord', d.guildId, d.users.alice.id, 'alice@example.com');
  await linkChatUser(t, 'discord', d.guildId, d.users.bob.id, 'bob@example.com');
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('an enforced budget, from the slash command to Re-enable', () => {
  it('Slack: set, synced, alerted once with the keys disabled; a developer is refused; an admin re-enables', async () => {
    const active = keysOf('staging').filter((k) => statusOf(k.id) === 'active');
    expect(active.length).toBeGreaterThan(0);
    const others = t.sim.state.apiKeys.filter((k) => k.scope_workspace_id !== workspaceId('staging'));
    const othersBefore = others.map((k) => statusOf(k.id));

    const set = await t.slack.command(
      t.url,
      'limits set workspace staging 1 enforce:true reenable:manual channel:<#C0SPEND|spend>',
      'UALICE',
    );
    expect(visibleText(set.reply)).toMatch(/staging/);
    expect(visibleText(set.reply)).toMatch(/\$1\.00/);

    // The syncs check the budgets once new spend is in.
    expect(await run('usage.sync')).toMatch(/limits:/);
    await run('costs.sync');
    const cards = () =>
      [...t.slack.messages.values()].filter((m) => m.channel === 'C0SPEND' && t.slack.buttons(m)['Re-enable']);
    await waitFor(() => cards().length > 0 || undefined, 10_000);
    expect(cards()).toHaveLength(1);
    const card: FakeSlackMessage = cards()[0]!;
    const text = visibleText(card);
    expect(text).toMatch(/staging/);
    expect(text).toMatch(/100 ?%/);
    for (const k of active) {
      expect(statusOf(k.id)).toBe('inactive');
      expect(text).toContain(k.name);
    }
    expect(others.map((k) => statusOf(k.id))).toEqual(othersBefore);

    // Running the check again (and the next syncs) sends nothing new.
    const posted = t.slack.messages.size;
    await run('limits.check');
    await run('limits.check');
    expect(t.slack.messages.size).toBe(posted);

    // A developer's click is refused, privately, and changes nothing.
    const refused = await t.slack.click(t.url, {
      user: 'UBOB',
      actionId: t.slack.buttons(card)['Re-enable']!,
      message: card,
    });
    const notice = await waitFor(() => t.slack.responses.find((x) => x.id === refused.responseId)?.body, 5000);
    expect(visibleText(notice)).toMatch(/not an approver/);
    for (const k of active) expect(statusOf(k.id)).toBe('inactive');

    // An admin's click restores exactly those keys, and the card says so.
    await t.slack.click(t.url, { user: 'UALICE', actionId: t.slack.buttons(card)['Re-enable']!, message: card });
    await waitFor(() => active.every((k) => statusOf(k.id) === 'active') || undefined, 15_000);
    await waitFor(() => /Done/.test(visibleText(t.slack.messages.get(card.ts)!)) || undefined, 15_000);
    const done = visibleText(t.slack.messages.get(card.ts)!);
    expect(done).toMatch(/alice@example\.com/);
    // One approver's one-click response: no vote tally on the card.
    expect(done).not.toMatch(/Votes/);
    expect(t.slack.buttons(t.slack.messages.get(card.ts)!)['Re-enable']).toBeUndefined();
    expect(others.map((k) => statusOf(k.id))).toEqual(othersBefore);
  }, 180_000);

  it('Discord: set with typed options, alerted in the channel, re-enabled by an admin', async () => {
    const active = keysOf('research').filter((k) => statusOf(k.id) === 'active');
    expect(active.length).toBeGreaterThan(0);
    const sent = d.sendCommand({
      user: 'alice',
      group: 'limits',
      subcommand: 'set',
      args: { scope: 'workspace', target: 'research', amount: '1', enforce: true, reenable: 'manual' },
    });
    expect(discordText(await d.replyTo(sent.id, 10_000))).toMatch(/research/);

    await run('limits.check');
    const card = await d.waitUntil(
      () =>
        [...d.messages.values()].find(
          (m) => m.channel_id === d.channelId && discordButtons(m)['Re-enable'] && /research/.test(discordText(m)),
        ),
      10_000,
      'the budget alert card',
    );
    for (const k of active) expect(statusOf(k.id)).toBe('inactive');

    d.sendButton({ user: 'bob', customId: discordButtons(card)['Re-enable']!, messageId: card.id });
    await new Promise((r) => setTimeout(r, 500));
    for (const k of active) expect(statusOf(k.id)).toBe('inactive');

    d.sendButton({ user: 'alice', customId: discordButtons(card)['Re-enable']!, messageId: card.id });
    await d.waitUntil(
      () => (active.every((k) => statusOf(k.id) === 'active') ? true : undefined),
      15_000,
      'the keys to be active again',
    );
    await d.waitUntil(
      () => (/Done/.test(discordText(d.messages.get(card.id))) ? true : undefined),
      15_000,
      'the card to show the outcome',
    );
    expect(discordButtons(d.messages.get(card.id))['Re-enable']).toBeUndefined();
  }, 180_000);
});
