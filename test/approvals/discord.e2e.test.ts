/**
 * The approval flow on Discord, end to end: the real discord.js Client on the fake gateway and REST, the Admin
 * API simulator over HTTP, a real database. A member files `/qm members role`; the card goes to the channel as
 * the bot; approvers vote with its buttons (self-approval and non-approvers refused privately, quorum 2, a deny
 * wins); the card is edited with the bot token through the channel message endpoint, also once every
 * interaction token has expired; the requester is told by DM. And with the HTTP interactions endpoint only
 * (no DISCORD_TOKEN), a click still updates the card through the interaction's webhook.
 * Runs on SQLite and PostgreSQL (DB_PROVIDER).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeDiscord } from '../fakes/discord.js';
import { waitFor } from '../fakes/slack.js';
import { linkChatUser, startTestApp, type TestApp, TestClock } from '../support/app.js';
import { discordButtons, discordText, newDiscordCard } from '../support/discord-text.js';

const POLICY = `
version: 1
defaults:
  approvers: { roles: [admin, billing] }
  expires_after: 24h
  remind_before: 2h
kinds:
  member.role: { quorum: 2 }
`;

const link = (t: TestApp, d: FakeDiscord, who: string, email: string) =>
  linkChatUser(t, 'discord', d.guildId, d.users[who]!.id, email);

describe('approvals on Discord (gateway and bot token)', () => {
  let t: TestApp;
  let d: FakeDiscord;
  const clock = new TestClock();
  const roleUpdates = (email: string) => {
    const id = t.sim.state.userByEmail(email)!.id;
    return t.sim.requests.filter((r) => r.method === 'POST' && r.path === `/v1/organizations/users/${id}`);
  };
  const status = async (id: string) => (await t.qm.store.approvals.get(id))!.status;
  const botAuth = () => `Bot ${d.token}`;
  /** Edits of the card made with the bot token through PATCH /channels/{c}/messages/{m}. */
  const botEdits = (cardId: string) =>
    d.calls.filter(
      (c) => c.method === 'PATCH' && c.path === `/channels/${d.channelId}/messages/${cardId}` && c.auth === botAuth(),
    );
  /** Messages the bot sent to `who` in a DM channel it opened with POST /users/@me/channels. */
  const dmsTo = (who: string) => {
    const channels = new Set(
      d.calls
        .filter(
          (c) => c.method === 'POST' && c.path === '/users/@me/channels' && c.body?.recipient_id === d.users[who]!.id,
        )
        .map((c) => c.response?.id as string),
    );
    return [...d.messages.values()].filter((m) => channels.has(m.channel_id)).map((m) => discordText(m));
  };

  async function file(args: Record<string, string>, who = 'bob') {
    const before = new Set(d.messages.keys());
    const sent = d.sendCommand({ user: who, group: 'members', subcommand: 'role', args });
    const reply = await d.replyTo(sent.id, 10_000);
    expect(discordText(reply)).toContain('Posted in this channel');
    const { card, id } = await newDiscordCard(d, before);
    // The bot records where its card is right after posting it; later edits (expiry, done) go there.
    await waitFor(async () => (await t.qm.store.approvals.cards(id)).length > 0 || undefined);
    return { sent, card, id };
  }

  /** A click that must be refused: the card is not edited, the clicker gets a private follow-up. */
  async function refusedClick(who: string, cardId: string, label: 'Approve' | 'Deny') {
    const edits = botEdits(cardId).length;
    const click = d.sendButton({
      user: who,
      customId: discordButtons(d.messages.get(cardId))[label]!,
      messageId: cardId,
    });
    const notice = await d.lastFollowUp(click.token, 10_000);
    expect(notice.flags & 64).toBe(64);
    expect(botEdits(cardId)).toHaveLength(edits);
    return discordText(notice);
  }

  /** A click that counts: resolves once the bot has edited the card (with the bot token) after it. */
  async function click(who: string, cardId: string, label: 'Approve' | 'Deny', until: RegExp) {
    d.sendButton({ user: who, customId: discordButtons(d.messages.get(cardId))[label]!, messageId: cardId });
    await d.waitUntil(() => until.test(discordText(d.messages.get(cardId))), 10_000, `the card to match ${until}`);
    return discordText(d.messages.get(cardId));
  }

  beforeAll(async () => {
    t = await startTestApp({ discord: true, policy: POLICY, clock });
    d = t.discord!;
    await link(t, d, 'alice', 'alice@example.com');
    await link(t, d, 'bob', 'bob@example.com');
    await link(t, d, 'carol', 'carol@example.com');
    await link(t, d, 'dave', 'dave@example.com');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('posts the card as the bot; refuses self-approval and non-approvers privately; quorum 2; done after the tokens expired', async () => {
    const { card, id, sent } = await file({ member: 'dave@example.com', role: 'developer', reason: 'on call' });
    expect(card.author.id).toBe(d.appId);
    expect(card.flags & 64).toBe(0);
    const post = d.calls.find((c) => c.method === 'POST' && c.response?.id === card.id)!;
    expect(post.path).toBe(`/channels/${d.channelId}/messages`);
    expect(post.auth).toBe(botAuth());
    const text = discordText(card);
    expect(text).toContain('Make dave@example.com developer');
    expect(text).toContain('on call');
    expect(text).toContain('2 approvals from org `admin`/`billing`');
    expect(Object.keys(discordButtons(card))).toEqual(['Approve', 'Deny']);

    expect(await refusedClick('bob', card.id, 'Approve')).toContain('You cannot decide your own request');
    expect(await refusedClick('dave', card.id, 'Approve')).toContain('You are not an approver for this request');
    expect(await t.qm.store.approvals.votes(id)).toHaveLength(0);

    const afterAlice = await click('alice', card.id, 'Approve', /\(1\/2\)/);
    expect(afterAlice).toContain('alice@example.com');
    expect(await status(id)).toBe('pending');
    expect(botEdits(card.id).length).toBeGreaterThanOrEqual(1);
    expect(await refusedClick('alice', card.id, 'Approve')).toContain('already voted');

    // Every interaction token so far (the command's and the clicks') is dead 16 minutes later.
    d.advance(16 * 60_000);
    const tokenCallsBefore = d.callsFor(sent.token).length;
    const done = await click('carol', card.id, 'Approve', /Done:/);
    expect(done).toContain('dave@example.com is now `developer`');
    expect(done).toContain('Approved by carol@example.com');
    expect(discordButtons(d.messages.get(card.id))).toEqual({});
    // The last edits went through the channel endpoint with the bot token, never the expired webhook.
    const editsAfterExpiry = botEdits(card.id).filter((c) => c.at > d.now() - 60_000);
    expect(editsAfterExpiry.length).toBeGreaterThanOrEqual(1);
    expect(editsAfterExpiry.every((c) => c.status === 200)).toBe(true);
    expect(d.editsOf(card.id).at(-1)!.via).toBe('channel');
    expect(d.callsFor(sent.token)).toHaveLength(tokenCallsBefore);
    expect(d.calls.filter((c) => c.status === 401)).toEqual([]);

    expect(await status(id)).toBe('done');
    expect(t.sim.state.userByEmail('dave@example.com')!.role).toBe('developer');
    expect(roleUpdates('dave@example.com').filter((c) => c.status === 200)).toHaveLength(1);
    // The requester is told by DM: approved, then done.
    await d.waitUntil(() => dmsTo('bob').some((m) => m.includes('Done:')), 10_000, 'the Done DM');
    expect(dmsTo('bob').some((m) => m.includes(`Your request ${id} was approved by carol@example.com`))).toBe(true);
  });

  it('a deny wins: the card says so, later clicks are refused, nothing is executed, the requester is told', async () => {
    const before = roleUpdates('frank@example.com').length;
    const { card, id } = await file({ member: 'frank@example.com', role: 'billing' });
    await click('alice', card.id, 'Approve', /\(1\/2\)/);
    const denied = await click('carol', card.id, 'Deny', /Denied by carol@example.com/);
    expect(denied).not.toContain('Done:');
    expect(discordButtons(d.messages.get(card.id))).toEqual({});
    expect(await status(id)).toBe('denied');
    expect(roleUpdates('frank@example.com')).toHaveLength(before);
    await d.waitUntil(
      () => dmsTo('bob').some((m) => m.includes(`Your request ${id} was denied by carol@example.com`)),
      10_000,
      'the denied DM',
    );
  });

  it('a request that expires while its tokens are dead still has its card edited as the bot', async () => {
    const { card, id } = await file({ member: 'grace@example.com', role: 'billing' });
    d.advance(16 * 60_000);
    clock.advance(25 * 3600_000);
    expect(await t.qm.services.approvals.expireDue()).toBeGreaterThanOrEqual(1);
    expect(await status(id)).toBe('expired');
    await d.waitUntil(() => /Expired/.test(discordText(d.messages.get(card.id))), 10_000, 'the expired card');
    expect(botEdits(card.id).at(-1)!.status).toBe(200);
    expect(d.editsOf(card.id).at(-1)!.via).toBe('channel');
    await d.waitUntil(() => dmsTo('bob').some((m) => m.includes(`${id} expired`)), 10_000, 'the expiry DM');
  });
});

describe('approvals on Discord over the HTTP interactions endpoint only (no DISCORD_TOKEN)', () => {
  let t: TestApp;
  let d: FakeDiscord;

  /** Sends a signed interaction to /discord/interactions and applies the HTTP answer as Discord would. */
  async function deliver(payload: any) {
    const signed = d.signedInteraction(payload);
    const res = await fetch(`${t.url}/discord/interactions`, {
      method: 'POST',
      headers: signed.headers,
      body: signed.body,
    });
    expect(res.status).toBe(200);
    d.acknowledge(d.interaction(payload.id)!, await res.json());
  }

  beforeAll(async () => {
    t = await startTestApp({ discord: true, policy: POLICY, env: { DISCORD_TOKEN: '' } });
    d = t.discord!;
    await link(t, d, 'alice', 'alice@example.com');
    await link(t, d, 'bob', 'bob@example.com');
    await link(t, d, 'carol', 'carol@example.com');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the card is a follow-up, and a click edits it through the click’s interaction webhook', async () => {
    const before = new Set(d.messages.keys());
    const command = d.buildCommand({
      user: 'bob',
      group: 'members',
      subcommand: 'role',
      args: { member: 'dave@example.com', role: 'developer' },
    });
    await deliver(command);
    const { card } = await newDiscordCard(d, before);
    expect(card.webhook_id).toBe(d.appId);
    expect(card.flags & 64).toBe(0);

    const clickPayload = d.buildComponent({
      user: 'alice',
      customId: discordButtons(card).Approve!,
      messageId: card.id,
    });
    await deliver(clickPayload);
    await d.waitUntil(() => /\(1\/2\)/.test(discordText(d.messages.get(card.id))), 10_000, 'the card after the vote');
    const edit = d.calls.find(
      (c) => c.method === 'PATCH' && c.path === `/webhooks/${d.appId}/${clickPayload.token}/messages/@original`,
    )!;
    expect(edit.auth).toBeUndefined();
    expect(edit.status).toBe(200);
    expect(d.calls.some((c) => c.auth !== undefined && c.path.startsWith('/channels/'))).toBe(false);

    // The second approval completes the quorum; the outcome that follows is shown through that click's webhook.
    const second = d.buildComponent({ user: 'carol', customId: discordButtons(card).Approve!, messageId: card.id });
    await deliver(second);
    await d.waitUntil(() => /Done:/.test(discordText(d.messages.get(card.id))) || undefined, 10_000, 'the Done card');
    expect(discordButtons(d.messages.get(card.id))).toEqual({});
    expect(d.calls.some((c) => c.auth !== undefined && c.path.startsWith('/channels/'))).toBe(false);
  });
});
