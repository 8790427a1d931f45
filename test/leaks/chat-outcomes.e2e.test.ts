/**
 * The two outcomes of a leak card not covered per platform elsewhere, end to end on Slack (real Bolt, signed
 * Events API callbacks) and Discord (real discord.js, MESSAGE_CREATE with the Message Content intent): with
 * `leaks.auto_deactivate` a real key posted in a channel is set inactive at once and the card says so; False
 * positive, refused to a non-approver, closes the incident for an approver and the card loses its buttons.
 * Runs on SQLite and PostgreSQL (DB_PROVIDER).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulatedSecret } from '../../src/anthropic/simulator/index.js';
import type { FakeDiscord } from '../fakes/discord.js';
import { type FakeSlackMessage, visibleText, waitFor } from '../fakes/slack.js';
import { linkChatUser, startTestApp, type TestApp } from '../support/app.js';
import { discordButtons, discordText } from '../support/discord-text.js';

const SLACK_SECURITY = 'C0SECURITY';
const DISCORD_SECURITY = '1400000000000000200';
let t: TestApp;
let d: FakeDiscord;
let general: string;

const keyNamed = (name: string) => t.sim.state.apiKeys.find((k) => k.name === name)!;
const secretOf = (name: string) => simulatedSecret(keyNamed(name))!;
const incidentOf = async (keyId: string) =>
  (await t.qm.store.leaks.list({ limit: 100 })).incidents.find((i) => i.apiKeyId === keyId);

beforeAll(async () => {
  t = await startTestApp({
    discord: true,
    env: { DISCORD_MESSAGE_CONTENT: '1' },
    policy: [
      'version: 1',
      'leaks:',
      `  channels: { slack: ${SLACK_SECURITY}, discord: "${DISCORD_SECURITY}" }`,
      '  auto_deactivate: true',
      '',
    ].join('\n'),
  });
  d = t.discord!;
  await linkChatUser(t, 'slack', 'T0QM', 'UALICE', 'alice@example.com'); // admin: an approver
  await linkChatUser(t, 'slack', 'T0QM', 'UBOB', 'bob@example.com'); // developer
  await linkChatUser(t, 'discord', d.guildId, d.users.alice.id, 'alice@example.com');
  await linkChatUser(t, 'discord', d.guildId, d.users.bob.id, 'bob@example.com');
  general = d.addChannel('general');
  await d.waitUntil(
    () => d.dispatched.some((e) => e.t === 'CHANNEL_CREATE' && e.d.id === general),
    5000,
    'CHANNEL_CREATE',
  );
  for (const name of ['prod-backend', 'staging-worker']) {
    expect(secretOf(name), `${name} has its simulated secret`).toMatch(/^sk-ant-api03-/);
    expect(t.sim.state.keyStatus(keyNamed(name))).toBe('active');
  }
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('Slack', () => {
  let card: FakeSlackMessage;
  it('auto_deactivate: a real key posted in a channel is set inactive at once, and the card says so', async () => {
    const key = keyNamed('prod-backend');
    await t.slack.say(t.url, { user: 'UBOB', channel: 'C0GENERAL', text: `use ${secretOf('prod-backend')} for now` });
    card = await waitFor(
      () =>
        [...t.slack.messages.values()].find(
          (m) => m.channel === SLACK_SECURITY && visibleText(m).includes('prod-backend'),
        ),
      10_000,
    );
    expect(t.sim.state.keyStatus(key)).toBe('inactive');
    expect(visibleText(card)).toMatch(/set inactive at once by policy/);
    expect(visibleText(card)).toMatch(/working key/);
    expect((await incidentOf(key.id))?.status).toBe('deactivated');
    expect(Object.keys(t.slack.buttons(card))).toEqual(['Archive', 'False positive']);
  }, 30_000);

  it('False positive: refused to a developer, closes the incident for an admin; the card loses its buttons', async () => {
    const key = keyNamed('prod-backend');
    const id = t.slack.buttons(card)['False positive']!;
    const refused = await t.slack.click(t.url, { user: 'UBOB', actionId: id, message: card });
    const notice = await waitFor(() => t.slack.responses.find((x) => x.id === refused.responseId)?.body, 5000);
    expect(visibleText(notice)).toMatch(/not an approver/);
    expect((await incidentOf(key.id))?.status).toBe('deactivated');

    await t.slack.click(t.url, { user: 'UALICE', actionId: id, message: card });
    await waitFor(async () => ((await incidentOf(key.id))?.status === 'false_positive' ? true : undefined), 10_000);
    await waitFor(() => (Object.keys(t.slack.buttons(card)).length === 0 ? true : undefined), 10_000);
    expect(visibleText(card)).toMatch(/false positive/i);
    expect(visibleText(card)).toContain('alice@example.com');
  }, 30_000);
});

describe('Discord', () => {
  const cardsFor = (name: string) =>
    [...d.messages.values()].filter(
      (m) => m.channel_id === DISCORD_SECURITY && m.author.id === d.appId && discordText(m).includes(name),
    );

  it('auto_deactivate: a real key posted is set inactive at once, the message deleted, the card says so', async () => {
    const key = keyNamed('staging-worker');
    const posted = d.postMessage('bob', `try ${secretOf('staging-worker')}`, { channelId: general });
    await d.waitUntil(() => d.deletedMessageIds.has(posted.id), 10_000, 'the message deleted');
    const [card] = await d.waitUntil(
      () => (cardsFor('staging-worker').length ? cardsFor('staging-worker') : null),
      10_000,
      'the card',
    );
    expect(t.sim.state.keyStatus(key)).toBe('inactive');
    expect(discordText(card)).toMatch(/set inactive at once by policy/);
    expect(Object.keys(discordButtons(card))).toEqual(['Archive', 'False positive']);
  }, 30_000);

  it('False positive: refused to a developer, closes the incident for an admin', async () => {
    const key = keyNamed('staging-worker');
    const card = cardsFor('staging-worker')[0]!;
    const id = discordButtons(card)['False positive']!;
    const byBob = d.sendButton({ user: 'bob', customId: id, messageId: card.id });
    expect(discordText(await d.lastFollowUp(byBob.token, 10_000))).toContain('not an approver');
    expect((await incidentOf(key.id))?.status).toBe('deactivated');

    d.sendButton({ user: 'alice', customId: id, messageId: card.id });
    await d.waitUntil(async () => (await incidentOf(key.id))?.status === 'false_positive', 10_000, 'closed');
    await d.waitUntil(() => Object.keys(discordButtons(d.messages.get(card.id))).length === 0, 10_000, 'no buttons');
    expect(discordText(d.messages.get(card.id))).toMatch(/false positive/i);
  }, 30_000);
});
