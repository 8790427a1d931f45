/**
 * Discord end to end: the real discord.js Client on a fake gateway and REST, the Admin API simulator over
 * HTTP, a real database. Asserts what a Discord member sees for each case.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeDiscord } from '../fakes/discord.js';
import { auditEntry, linkChatUser, startTestApp, type TestApp } from '../support/app.js';
import { discordButtons, discordText } from '../support/discord-text.js';

let t: TestApp;
let d: FakeDiscord;

beforeAll(async () => {
  t = await startTestApp({ discord: true });
  d = t.discord!;
  // The first admin is linked by the operator (DESIGN: `npx quartermaster link discord GUILD USER EMAIL`).
  await linkChatUser(t, 'discord', d.guildId, d.users.alice.id, 'alice@example.com');
});
afterAll(async () => {
  await t?.close();
});

async function command(user: string, group: string | undefined, subcommand: string, args: Record<string, any> = {}) {
  const sent = d.sendCommand({ user, ...(group ? { group } : {}), subcommand, args });
  const reply = await d.replyTo(sent.id, 10_000);
  return { sent, reply, text: discordText(reply) };
}

describe('gateway', () => {
  it('identifies with only the Guilds intent', () => {
    expect(d.identifies.at(-1).intents).toBe(1);
  });

  it('defers ephemerally within the deadline, then edits @original with the answer', async () => {
    const { sent, reply, text } = await command('alice', undefined, 'whoami');
    const callback = d.calls.find((c) => c.path === `/interactions/${sent.id}/${sent.token}/callback`)!;
    expect(callback.body).toEqual({ type: 5, data: { flags: 64 } });
    expect(callback.auth).toBeUndefined();
    expect(reply.flags & 64).toBe(64);
    expect(text).toContain('alice@example.com');
    expect(text).toContain('admin');
  });
});

describe('commands', () => {
  it('keys list with typed options', async () => {
    const { text } = await command('alice', 'keys', 'list', { workspace: 'prod', status: 'active' });
    expect(text).toContain('API keys (workspace:prod, status:active)');
    expect(text).toMatch(/Showing 1–\d+ of \d+ keys/);
  });

  it('an unlinked member can run help and whoami, and is told how to link for anything else', async () => {
    const help = await command('bob', undefined, 'help');
    expect(help.text).toContain('/qm link');
    expect(help.text).not.toContain('/qm keys list');
    const keys = await command('bob', 'keys', 'list');
    expect(keys.text).toContain('/qm link email:you@example.com');
    const audit = await auditEntry(t, (e) => e.action === 'keys list' && e.actorId === d.users.bob.id);
    expect(audit).toMatchObject({
      platform: 'discord',
      actorId: d.users.bob.id,
      outcome: 'denied',
      errorCode: 'UNLINKED',
    });
  });

  it('a bad option value gets a specific message', async () => {
    const { text } = await command('bob', undefined, 'link', { email: 'not-an-email' });
    expect(text).toContain('`email`: must be an email address');
  });
});

describe('link requests', () => {
  it('member asks, a non-admin is refused, the admin approves after the request token expired; the card is edited as the bot', async () => {
    const { text, sent } = await command('dave', undefined, 'link', { email: 'dave@example.com' });
    expect(text).toContain('Posted in this channel');
    const card = [...d.messages.values()].find(
      (m) => m.channel_id === d.channelId && discordText(m).includes('asks to act as'),
    )!;
    expect(card).toBeTruthy();
    expect(card.flags & 64).toBe(0);
    const buttons = discordButtons(card);
    expect(Object.keys(buttons)).toEqual(['Approve', 'Deny']);
    for (const id of Object.values(buttons)) expect(id.length).toBeLessThanOrEqual(100);

    // A member who is not an org admin clicks: refused privately, card unchanged.
    const byBob = d.sendButton({ user: 'bob', customId: buttons.Approve!, messageId: card.id });
    const notice = await d.lastFollowUp(byBob.token, 10_000);
    expect(discordText(notice)).toContain('Only Anthropic org admins');
    expect(notice.flags & 64).toBe(64);

    // 16 minutes later the requester's interaction token is dead; the admin's click still updates the card.
    d.advance(16 * 60_000);
    const click = d.sendButton({ user: 'alice', customId: buttons.Approve!, messageId: card.id });
    await d.waitForCall(
      (c) => c.method === 'PATCH' && c.path === `/channels/${d.channelId}/messages/${card.id}`,
      10_000,
    );
    expect(discordText(d.messages.get(card.id))).toContain('Approved by alice@example.com');
    expect(discordButtons(d.messages.get(card.id))).toEqual({});
    expect(d.calls.some((c) => c.path.includes(sent.token) && c.method === 'PATCH' && c.at > click.payload.id)).toBe(
      false,
    );

    const who = await command('dave', undefined, 'whoami');
    expect(who.text).toContain('dave@example.com');
  });

  it('an admin links a member directly; a denied member is audited', async () => {
    const denied = await command('dave', 'members', 'list');
    expect(denied.text).toContain('needs the **developer** org role');
    const linked = await command('alice', undefined, 'link', { email: 'bob@example.com', user: d.users.bob });
    expect(linked.text).toContain(`<@${d.users.bob.id}> now acts as **bob@example.com**`);
    const bob = await command('bob', 'keys', 'list');
    expect(bob.text).toContain('API keys');
  });
});
