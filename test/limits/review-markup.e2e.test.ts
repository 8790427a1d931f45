/**
 * Review: names that carry markup (a key called `*x* <!channel> @everyone [x](http://evil.example) <#C0GENERAL>
 * `tick``) through every renderer of the limits replies and cards: the Slack set reply, show, and the enforced
 * alert card (real Bolt against the fake Slack), and show on Discord (real discord.js against the fake). Nothing of
 * the name becomes a mention, a link, a channel link or formatting. Both databases.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { JOBS } from '../../src/core/jobs.js';
import type { FakeDiscord } from '../fakes/discord.js';
import { visibleText, waitFor } from '../fakes/slack.js';
import { linkChatUser, startTestApp, type TestApp, TestClock } from '../support/app.js';
import { discordText } from '../support/discord-text.js';

const HOSTILE = '*x* <!channel> @everyone [x](http://evil.example) <#C0GENERAL> `tick` _u_';
const job = JOBS.find((j) => j.name === 'limits.check')!;
const clock = new TestClock();
let t: TestApp;
let d: FakeDiscord;

const say = async (text: string, user = 'UALICE') => visibleText((await t.slack.command(t.url, text, user)).reply);

/** Slack mrkdwn that makes nothing live out of the hostile name. */
function inertOnSlack(text: string) {
  expect(text).not.toContain('<!channel>');
  expect(text).not.toContain('<http://evil');
  expect(text).not.toContain('<#C0GENERAL>');
  expect(text).not.toContain('`tick`');
}

beforeAll(async () => {
  clock.set('2026-11-20T10:30:00Z');
  t = await startTestApp({ clock, discord: true });
  d = t.discord!;
  await linkChatUser(t, 'slack', 'T0QM', 'UALICE', 'alice@example.com');
  await linkChatUser(t, 'discord', d.guildId, d.users.alice!.id, 'alice@example.com');
  t.sim.state.apiKeys.find((k) => k.name === 'prod-backend')!.name = HOSTILE;
  await t.qm.services.directory.sync();
}, 60_000);
afterAll(async () => {
  await t?.close();
});

it('a hostile key name stays text in the set reply, show, the alert card (Slack) and show (Discord)', async () => {
  const key = t.sim.state.apiKeys.find((k) => k.name === HOSTILE)!;
  const set = await say(`limits set key ${key.id} 1 day enforce channel:C0MARK`);
  expect(set).toContain('Budget set');
  expect(set).toContain('evil.example');
  inertOnSlack(set);

  await t.qm.store.spend.replaceUsage(new Date('2026-11-20T00:00:00Z'), new Date('2026-11-20T10:00:00Z'), [
    {
      bucketStart: new Date('2026-11-20T09:00:00Z'),
      workspaceId: key.scope_workspace_id!,
      apiKeyId: key.id,
      model: 'claude-sonnet-4-5-20250929',
      serviceTier: 'standard',
      uncachedInput: 1_000_000n,
      cacheRead: 0n,
      cacheWrite5m: 0n,
      cacheWrite1h: 0n,
      output: 0n,
      webSearch: 0n,
    },
  ]);
  await t.qm.store.spend.setSyncedFrom('usage', new Date('2026-10-01T00:00:00Z'), clock.now());
  await t.qm.store.spend.setSyncedThrough('usage', new Date('2026-11-20T10:00:00Z'), clock.now());
  await t.qm.store.spend.setSyncedFrom('costs', new Date('2026-10-01T00:00:00Z'), clock.now());
  await t.qm.store.spend.setSyncedThrough('costs', new Date('2026-11-20T00:00:00Z'), clock.now());

  const shown = await say('limits show');
  expect(shown).toContain('$3.00');
  expect(shown).toContain('evil.example');
  inertOnSlack(shown);

  expect(await job.run(t.qm.services)).toMatch(/1 enforced/);
  const card = await waitFor(() => [...t.slack.messages.values()].find((m) => m.channel === 'C0MARK'));
  const alert = visibleText(card);
  expect(alert).toContain('Re-enable');
  expect(alert).toContain(key.id);
  expect(alert).toContain('evil.example');
  inertOnSlack(alert);

  const sent = d.sendCommand({ user: 'alice', group: 'limits', subcommand: 'show', args: {} });
  const reply = await d.replyTo(sent.id, 10_000);
  const text = discordText(reply);
  expect(text).toContain('$3.00');
  expect(text).toContain('@everyone');
  expect(text).not.toContain('[x](http');
  expect(text).toContain('\\[x\\](http');
  expect(text).not.toMatch(/[^\\]\*x/);
  expect(text).not.toMatch(/[^\\]`tick/);
  expect(reply.allowed_mentions?.parse ?? []).toEqual([]);
}, 60_000);
