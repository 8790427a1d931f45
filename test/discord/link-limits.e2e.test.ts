/**
 * A Discord user id is the same in every server, and anyone can add the bot to servers of their own: the link
 * limits follow the person, not the server. One pending request and a few tries an hour across all servers,
 * simultaneous tries are counted one by one, and the platform as a whole has a cap on pending requests.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  LINK_ATTEMPTS_LIMIT,
  MAX_PENDING_LINK_REQUESTS_PER_PLATFORM,
  requesterKey,
} from '../../src/core/identity/link-requests.js';
import type { FakeDiscord } from '../fakes/discord.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { discordText } from '../support/discord-text.js';

const ADMINS = '1400000000000000300';
/** Servers of the attacker's own, which the operator never allowed (DISCORD_ALLOWED_GUILDS is unset). */
const server = (i: number) => `14000000000000070${10 + i}`;
let t: TestApp;
let d: FakeDiscord;

beforeAll(async () => {
  t = await startTestApp({
    discord: true,
    policy: `version: 1\nkinds:\n  link: { channels: { discord: "${ADMINS}" } }\n`,
  });
  d = t.discord!;
  d.channels.set(ADMINS, { ...structuredClone(d.channels.get(d.channelId)), id: ADMINS, name: 'admins' });
  for (const key of ['roamer', 'hopper', 'burst', 'late']) d.addUser(key);
});
afterAll(async () => {
  await t?.close();
});

const ask = async (user: string, email: string, guildId?: string) =>
  discordText(await d.replyTo(d.sendCommand({ user, subcommand: 'link', args: { email }, guildId }).id, 10_000));
const askOverHttp = async (user: string, email: string, guildId?: string) => {
  const payload = d.buildCommand({ user, subcommand: 'link', args: { email }, guildId });
  const signed = d.signedInteraction(payload);
  const res = await fetch(`${t.url}/discord/interactions`, {
    method: 'POST',
    headers: signed.headers,
    body: signed.body,
  });
  d.acknowledge(d.interaction(payload.id)!, await res.json());
  return discordText(await d.replyTo(payload.id, 30_000));
};
const adminCards = (email: string) =>
  [...d.messages.values()].filter((m) => m.channel_id === ADMINS && discordText(m).includes(email));
const settle = () => new Promise((r) => setTimeout(r, 300));

it('warns at start-up that DISCORD_ALLOWED_GUILDS is not set', () => {
  expect(t.logs.join('')).toContain('DISCORD_ALLOWED_GUILDS is not set: anyone can add the bot to a Discord server');
});

it('a user asking again from another server is told the first request is still waiting; the admins get one card', async () => {
  expect(await ask('roamer', 'erin@example.com')).toContain('was sent to the org admins');
  const again = await ask('roamer', 'erin@example.com', server(1));
  expect(again).toContain(
    'You already have a link request waiting for the org admins (to act as **erin@example.com**)',
  );
  await settle();
  expect(adminCards('erin@example.com')).toHaveLength(1);
});

it(`counts the tries of one user in every server against the same ${LINK_ATTEMPTS_LIMIT} an hour`, async () => {
  const replies: string[] = [];
  for (let i = 0; i <= LINK_ATTEMPTS_LIMIT; i++) replies.push(await ask('hopper', `hop${i}@example.com`, server(i)));
  expect(replies[0]).toContain('was sent to the org admins');
  for (const r of replies.slice(1, LINK_ATTEMPTS_LIMIT)) expect(r).toContain('You already have a link request waiting');
  expect(replies[LINK_ATTEMPTS_LIMIT]).toContain(
    `You can ask to be linked ${LINK_ATTEMPTS_LIMIT} times an hour, and you have. Try again in 60 minutes.`,
  );
});

it(`of 20 simultaneous tries by one user, at most ${LINK_ATTEMPTS_LIMIT} are counted and one request is filed`, async () => {
  // 20 at once on a busy test machine: what is tested is the counting, not Discord's 3-second answer deadline.
  d.callbackDeadlineMs = 30_000;
  const replies = await Promise.all(
    Array.from({ length: 20 }, (_, i) => askOverHttp('burst', `burst${i}@example.com`, server(i % 7))),
  );
  const limited = replies.filter((r) => r.includes(`You can ask to be linked ${LINK_ATTEMPTS_LIMIT} times an hour`));
  const sent = replies.filter((r) => r.includes('was sent to the org admins'));
  expect(limited.length).toBeGreaterThanOrEqual(20 - LINK_ATTEMPTS_LIMIT);
  expect(sent).toHaveLength(1);
  await settle();
  expect(
    [...d.messages.values()].filter((m) => m.channel_id === ADMINS && /burst\d+@/.test(discordText(m))),
  ).toHaveLength(1);
  d.callbackDeadlineMs = 3000;
}, 60_000);

it(`stops at ${MAX_PENDING_LINK_REQUESTS_PER_PLATFORM} pending requests on Discord however many servers they come from`, async () => {
  const staleBefore = new Date(Date.now() - 86_400_000);
  for (let i = 0; ; i++) {
    const guild = `14000000000000080${10 + i}`;
    const user = `15000000000000080${10 + i}`;
    const r = await t.qm.store.linkRequests.create(
      {
        platform: 'discord',
        teamId: guild,
        userId: user,
        email: `fill${i}@example.com`,
        orgUserId: null,
        requesterKey: requesterKey('discord', guild, user),
      },
      { staleBefore, maxPendingPerTeam: 20, maxPendingPerPlatform: MAX_PENDING_LINK_REQUESTS_PER_PLATFORM },
    );
    if ('refused' in r) break;
  }
  expect(await ask('late', 'late@example.com', server(9))).toContain(
    'Too many link requests are waiting for the org admins; try again later, or ask an org admin to link you.',
  );
  await settle();
  expect(adminCards('late@example.com')).toEqual([]);
});
