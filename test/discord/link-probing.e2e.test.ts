/**
 * On Discord too, `/qm link email:…` answers a member's email and a stranger's alike, on the gateway and on the
 * HTTP interactions endpoint; the card goes to the approvers' channel, which alone says whether it matched.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FakeDiscord } from '../fakes/discord.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { discordText } from '../support/discord-text.js';

const ADMINS = '1400000000000000300';
let t: TestApp;
let d: FakeDiscord;

beforeAll(async () => {
  t = await startTestApp({
    discord: true,
    policy: `version: 1\nkinds:\n  link: { channels: { discord: "${ADMINS}" } }\n`,
  });
  d = t.discord!;
  d.channels.set(ADMINS, { ...structuredClone(d.channels.get(d.channelId)), id: ADMINS, name: 'admins' });
  for (const key of ['p1', 'p2', 'p3', 'p4']) d.addUser(key);
});
afterAll(async () => {
  await t?.close();
});

const neutral = (text: string, email: string) => text.replaceAll(email, 'EMAIL');
const cardFor = (email: string) =>
  d.waitUntil(
    () => [...d.messages.values()].find((m) => m.channel_id === ADMINS && discordText(m).includes(email)),
    10_000,
  );

it('the gateway answers a member email and a non-member email alike', async () => {
  const ask = async (user: string, email: string) =>
    discordText(await d.replyTo(d.sendCommand({ user, subcommand: 'link', args: { email } }).id, 10_000));
  const member = await ask('p1', 'erin@example.com');
  const stranger = await ask('p2', 'nobody@example.com');
  expect(member).toContain('Your request to act as **erin@example.com** was sent to the org admins');
  expect(neutral(member, 'erin@example.com')).toBe(neutral(stranger, 'nobody@example.com'));
  expect(discordText(await cardFor('erin@example.com'))).toContain('Matches the org member');
  expect(discordText(await cardFor('nobody@example.com'))).toContain('No org member has this email');
});

it('the HTTP interactions endpoint answers a member email and a non-member email alike', async () => {
  const ask = async (user: string, email: string) => {
    const payload = d.buildCommand({ user, subcommand: 'link', args: { email } });
    const signed = d.signedInteraction(payload);
    const res = await fetch(`${t.url}/discord/interactions`, {
      method: 'POST',
      headers: signed.headers,
      body: signed.body,
    });
    const first = await res.json();
    d.acknowledge(d.interaction(payload.id)!, first);
    return discordText(await d.replyTo(payload.id, 10_000));
  };
  const member = await ask('p3', 'dave@example.com');
  const stranger = await ask('p4', 'stranger@example.com');
  expect(member).toContain('was sent to the org admins');
  expect(neutral(member, 'dave@example.com')).toBe(neutral(stranger, 'stranger@example.com'));
});
