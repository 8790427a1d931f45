/**
 * Markup injection: names, reasons and emails are what users control, and they reach approval cards, their
 * titles, the plain-text fallback Slack notifies with, lists and DMs. Through the real Bolt app (fake Slack Web
 * API) and the real discord.js client (fake gateway and REST), a hostile key name and reason must show as the
 * text that was typed, never as a live link, mention, broadcast or formatting; Discord messages never allow a
 * ping. Runs on SQLite and PostgreSQL (DB_PROVIDER).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeSlackMessage } from '../fakes/slack.js';
import { visibleText, waitFor } from '../fakes/slack.js';
import { linkChatUser, startTestApp, type TestApp } from '../support/app.js';
import { discordButtons, discordText, newDiscordCard } from '../support/discord-text.js';
import { fileCard, slackDms } from '../support/slack-cards.js';

const POLICY = `
version: 1
defaults:
  approvers: { roles: [admin] }
  expires_after: 24h
`;
const LINK = '[Approve here](https://evil.example/phish)';
const SLACK_REASON = 'ping <!channel> <!here> <@UALICE> <https://evil.example|click> & *bold* _it_ ~s~ `tick`';
const DISCORD_REASON =
  'ping @everyone @here <@123456789012345678> <#123456789012345678> `tick` **bold** ||spoiler|| [x](https://evil.example)';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ policy: POLICY, discord: true });
});
afterAll(async () => {
  await t?.close();
});

/** Every string Slack parses as mrkdwn in a message: the fallback `text` and each mrkdwn block and field. */
function slackMrkdwn(msg: { text?: string; blocks?: any[] }): string[] {
  const out = [msg.text ?? ''];
  for (const b of msg.blocks ?? []) {
    if (b.text?.type === 'mrkdwn') out.push(b.text.text);
    for (const f of b.fields ?? []) if (f.type === 'mrkdwn') out.push(f.text);
    for (const e of b.elements ?? []) if (e.type === 'mrkdwn') out.push(e.text);
  }
  return out;
}

/** What Slack would turn into something live: control sequences (links, mentions, broadcasts) and raw `&`. */
function slackLive(texts: string[], allowedMentions: string[]): string[] {
  const found: string[] = [];
  for (const s of texts) {
    for (const m of s.matchAll(/<([^>]*)>/g)) {
      if (allowedMentions.some((u) => m[1] === `@${u}`)) continue;
      found.push(m[0]);
    }
    for (const m of s.matchAll(/&(?!amp;|lt;|gt;)/g)) found.push(`raw & at ${m.index}`);
    // Formatting from the user's text (*bold*, _it_, ~s~, `tick`, *x*) that Slack would apply.
    for (const w of ['*bold*', '_it_', '~s~', '`tick`', '*x*']) if (s.includes(w)) found.push(w);
  }
  return found;
}

/** Slack mrkdwn as the person reads it: entities decoded, zero-width spaces gone. */
const slackRead = (s: string) =>
  s
    .replace(/\u200B/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** Discord markdown outside code spans that would be live: masked links, mentions, spoilers, bold, code. */
function discordLive(s: string, allowedMentions: string[] = []): string[] {
  const found: string[] = [];
  // Our own code spans are literal on Discord; escaped characters are literal too.
  const outside = s.replace(/\\./g, '··').replace(/`[^`\n]*`/g, '');
  for (const m of outside.matchAll(/\[[^\]\n]*\]\(\s*<?https?:[^)]*\)/g)) found.push(m[0]);
  for (const m of outside.matchAll(/<(@[!&]?|#|t:|\/)[^>]*>/g))
    if (!allowedMentions.some((u) => m[0] === `<@${u}>`)) found.push(m[0]);
  for (const m of outside.matchAll(/\|\|[^|]+\|\|/g)) found.push(m[0]);
  for (const m of outside.matchAll(/\*\*bold\*\*/g)) found.push(m[0]);
  return found;
}

function discordStrings(msg: any): string[] {
  const out: string[] = [msg?.content ?? ''];
  for (const e of msg?.embeds ?? []) {
    out.push(e.title ?? '', e.description ?? '', e.footer?.text ?? '');
    for (const f of e.fields ?? []) out.push(f.name, f.value);
  }
  return out;
}

describe('Slack', () => {
  let card: FakeSlackMessage;
  let id: string;

  it('a hostile key name and reason show as typed on the card, its title and its fallback text', async () => {
    const text = `keys request research "${LINK}" "${SLACK_REASON}" 30d`;
    ({ card, id } = await fileCard(t, text, 'UDAVE'));
    const live = slackLive(slackMrkdwn(card), ['UDAVE']);
    expect(live).toEqual([]);
    // The title (first section) names the request with the key name as text, not as a link.
    const title = card.blocks[0].text.text as string;
    expect(slackRead(title)).toContain(`Request ${id}: New API key "${LINK}"`);
    expect(slackRead(card.text)).toContain(LINK);
    const read = slackRead(slackMrkdwn(card).join('\n'));
    expect(read).toContain(SLACK_REASON);
  });

  it('the DM to the requester after the decision and the updated card stay inert', async () => {
    const original = card.history[0] ? { ...card, blocks: card.history[0].blocks } : card;
    await t.slack.click(t.url, { user: 'UALICE', actionId: t.slack.buttons(original).Deny!, message: card });
    await waitFor(async () => ((await t.qm.store.approvals.get(id))!.status === 'denied' ? true : undefined));
    await waitFor(() => slackDms(t, 'UDAVE').find((m) => m.includes('denied')));
    const dms = [...t.slack.messages.values()].filter((m) => m.channel === 'DUDAVE');
    expect(dms.length).toBeGreaterThan(0);
    for (const dm of dms) expect(slackLive(slackMrkdwn(dm), [])).toEqual([]);
    const updated = await waitFor(() => {
      const m = t.slack.messages.get(card.ts)!;
      return visibleText(m).includes('Denied') ? m : undefined;
    });
    expect(slackLive(slackMrkdwn(updated), ['UDAVE'])).toEqual([]);
  });

  it('a key named hostilely in the Console is inert in lists and in the cards that name it', async () => {
    const ws = t.sim.state.workspaces.find((w) => w.name === 'research')!;
    t.sim.state.addApiKey({
      name: '<!channel> *x* [y](https://evil.example)',
      workspaceId: ws.id,
      createdBy: { id: t.sim.state.userByEmail('alice@example.com')!.id, type: 'user' },
    });
    await t.qm.services.directory.sync();
    const list = await t.slack.command(t.url, 'keys list workspace:research', 'UALICE');
    const body = list.reply;
    expect(slackLive(slackMrkdwn(body), [])).toEqual([]);
    expect(slackRead(slackMrkdwn(body).join('\n'))).toContain('<!channel> *x* [y](https://evil.example)');
  });
});

describe('Discord', () => {
  const d = () => t.discord!;

  it('a hostile key name and reason show as typed on the card, and no message may ping', async () => {
    await linkChatUser(t, 'discord', d().guildId, d().users.dave!.id, 'dave@example.com');
    await linkChatUser(t, 'discord', d().guildId, d().users.alice!.id, 'alice@example.com');
    const before = new Set(d().messages.keys());
    const sent = d().sendCommand({
      user: 'dave',
      group: 'keys',
      subcommand: 'request',
      args: { workspace: 'research', name: LINK, reason: DISCORD_REASON },
    });
    await d().replyTo(sent.id, 10_000);
    const { card, id } = await newDiscordCard(d(), before);
    const strings = discordStrings(card);
    expect(strings.flatMap((s) => discordLive(s, [d().users.dave!.id]))).toEqual([]);
    expect(card.embeds[0].title).toContain(`Request ${id}`);
    expect(card.embeds[0].title.replace(/\\(.)/g, '$1')).toContain(LINK);
    expect(discordText(card).replace(/\\(.)/g, '$1')).toContain(DISCORD_REASON);

    // Deny: the edited card and the DM to the requester stay inert.
    d().sendButton({ user: 'alice', customId: discordButtons(card).Deny!, messageId: card.id });
    await d().waitUntil(() => /Denied/.test(discordText(d().messages.get(card.id))), 10_000, 'the denied card');
    const dm = await d().waitUntil(
      () => [...d().messages.values()].find((m) => m.channel_id !== d().channelId && /denied/.test(discordText(m))),
      10_000,
      'the DM to the requester',
    );
    expect(discordStrings(dm).flatMap((s) => discordLive(s))).toEqual([]);
    expect(discordStrings(d().messages.get(card.id)).flatMap((s) => discordLive(s, [d().users.dave!.id]))).toEqual([]);

    // Every message the bot sent or edited (channel, DM, interaction webhooks) forbids pings.
    const writes = d().calls.filter(
      (c) =>
        ['POST', 'PATCH'].includes(c.method) &&
        /\/messages(\/[^/]+)?$|\/webhooks\/[^/]+\/[^/]+$/.test(c.path) &&
        (c.body?.embeds || c.body?.content),
    );
    expect(writes.length).toBeGreaterThan(2);
    for (const c of writes) expect(c.body.allowed_mentions, `${c.method} ${c.path}`).toEqual({ parse: [] });
  });
});
