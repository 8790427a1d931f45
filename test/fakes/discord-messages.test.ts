/**
 * The fake Discord's members' messages and AutoMod rules, with the REAL discord.js Client and REST: message events
 * only under GUILD_MESSAGES and their content only under MESSAGE_CONTENT (as Discord does), and the AutoMod
 * installer of src/discord/notifier.ts against Discord's validation (50035) and permissions (50013).
 */
import { Client, Events, GatewayIntentBits, type Message, REST } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTOMOD_PATTERNS, automodRule } from '../../src/core/leaks/automod.js';
import { discordAutoMod } from '../../src/discord/notifier.js';
import { byPatterns, mixedText } from '../support/leaks.js';
import { FakeDiscord, isRustRegex } from './discord.js';

let fake: FakeDiscord;
const clients: Client[] = [];

beforeAll(async () => {
  fake = await new FakeDiscord().start();
});
afterAll(async () => {
  for (const c of clients) await c.destroy();
  await fake.stop();
});

async function connect(intents: GatewayIntentBits[]): Promise<{ client: Client; seen: Message[] }> {
  const client = new Client({ intents, rest: { api: fake.restApi } });
  clients.push(client);
  const seen: Message[] = [];
  client.on(Events.MessageCreate, (m) => seen.push(m));
  client.on(Events.MessageUpdate, (_old, m) => seen.push(m as Message));
  const ready = new Promise<void>((r) => client.once(Events.ClientReady, () => r()));
  await client.login(fake.token);
  await ready;
  return { client, seen };
}

describe('members’ messages', () => {
  it('reach only clients with GUILD_MESSAGES, with content only under MESSAGE_CONTENT', async () => {
    const none = await connect([GatewayIntentBits.Guilds]);
    const noContent = await connect([GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages]);
    const full = await connect([
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.MessageContent,
    ]);
    const posted = fake.postMessage('bob', 'hello there', { embeds: [{ title: 'T', description: 'D' }] });
    await fake.waitUntil(() => full.seen.length === 1 && noContent.seen.length === 1, 3000, 'both clients');
    expect(full.seen[0]).toMatchObject({ id: posted.id, content: 'hello there', guildId: fake.guildId });
    expect(full.seen[0]!.author.id).toBe(fake.users.bob.id);
    expect(full.seen[0]!.member?.id).toBe(fake.users.bob.id);
    expect(full.seen[0]!.embeds[0]?.description).toBe('D');
    expect(noContent.seen[0]!.content).toBe('');
    expect(noContent.seen[0]!.embeds).toHaveLength(0);

    fake.editMessageAs(posted.id, 'hello again');
    await fake.waitUntil(() => full.seen.length === 2, 3000, 'the edit');
    expect(full.seen[1]!.content).toBe('hello again');
    expect(full.seen[1]!.editedTimestamp).not.toBeNull();
    await new Promise((r) => setTimeout(r, 100));
    expect(none.seen).toHaveLength(0);
    for (const c of [none, noContent, full]) await c.client.destroy();
  });

  it("deleting someone else's message needs Manage Messages", async () => {
    const rest = new REST({ api: fake.restApi }).setToken(fake.token);
    const a = fake.postMessage('bob', 'one');
    fake.botCanManageMessages = false;
    await expect(rest.delete(`/channels/${fake.channelId}/messages/${a.id}`)).rejects.toMatchObject({
      status: 403,
      code: 50013,
    });
    fake.botCanManageMessages = true;
    await rest.delete(`/channels/${fake.channelId}/messages/${a.id}`);
    expect(fake.deletedMessageIds.has(a.id)).toBe(true);
  });
});

describe('AutoMod rules', () => {
  const rest = () => new REST({ api: fake.restApi }).setToken(fake.token);

  it('creates, then finds by name and updates', async () => {
    const am = discordAutoMod(rest());
    const first = await am.install(fake.guildId, automodRule(fake.channelId));
    expect(first).toMatchObject({ ok: true, created: true });
    const second = await am.install(fake.guildId, automodRule(null));
    expect(second).toEqual({ ok: true, created: false, id: (first as { id: string }).id });
    expect(fake.autoModRules.size).toBe(1);
    expect([...fake.autoModRules.values()][0].actions).toEqual([
      { type: 1, metadata: { custom_message: automodRule(null).blockMessage } },
    ]);
  });

  it('reports what Discord refuses: bad patterns (50035), a foreign alert channel, Missing Permissions', async () => {
    const am = discordAutoMod(rest());
    const base = { ...automodRule(null), name: 'other rule' };
    const lookbehind = await am.install(fake.guildId, { ...base, regexPatterns: ['(?<![a-z])sk-ant-'] });
    expect(lookbehind).toEqual({
      ok: false,
      reason: 'invalid',
      detail: 'trigger_metadata.regex_patterns.0: Invalid regex',
    });
    const long = await am.install(fake.guildId, { ...base, regexPatterns: ['a'.repeat(261)] });
    expect(long).toMatchObject({
      ok: false,
      detail: 'trigger_metadata.regex_patterns.0: Must be 260 or fewer in length.',
    });
    const many = await am.install(fake.guildId, { ...base, regexPatterns: Array(11).fill('abc') });
    expect(many).toMatchObject({
      ok: false,
      detail: 'trigger_metadata.regex_patterns: Must be 10 or fewer in length.',
    });
    const channel = await am.install(fake.guildId, { ...base, alertChannelId: '1499999999999999999' });
    expect(channel).toMatchObject({ ok: false, reason: 'invalid', detail: expect.stringContaining('channel_id') });
    fake.botCanManageGuild = false;
    try {
      expect(await am.install(fake.guildId, base)).toEqual({
        ok: false,
        reason: 'missing_permissions',
        detail: 'Missing Permissions',
      });
    } finally {
      fake.botCanManageGuild = true;
    }
    expect([...fake.autoModRules.values()].map((r) => r.name)).not.toContain('other rule');
  });
});

describe('the AutoMod patterns', () => {
  it('fit Discord’s limits and its Rust regex engine', () => {
    expect(AUTOMOD_PATTERNS.length).toBeLessThanOrEqual(10);
    for (const p of AUTOMOD_PATTERNS) {
      expect(p.length).toBeLessThanOrEqual(260);
      expect(isRustRegex(p)).toBe(true);
    }
  });

  it('block every text holding a secret on one line (the detector’s specification), over generated text', () => {
    const res = AUTOMOD_PATTERNS.map((p) => new RegExp(p));
    // What AutoMod may block beyond the detector: a placeholder, or emphasis with unequal underscores.
    const placeholderOrEmphasis = (text: string) =>
      /_sk-ant-|sk-ant-(?:api03|admin01)-[A-Za-z0-9_-]{93}AA_/.test(text) ||
      [...text.matchAll(/sk-ant-(?:api03-|admin01-|o[ar]t01-)([A-Za-z0-9_-]+)/g)].some(
        (m) => new Set(m[1]!.replace(/AA$/, '').replace(/[-_]/g, '').toLowerCase()).size <= 1,
      );
    let withSecret = 0;
    for (let seed = 1; seed <= 3000; seed++) {
      const text = mixedText(seed, 1 + (seed % 6));
      // A key wrapped over a line break is the scanner's to catch: AutoMod sees no line-spanning key.
      const found = byPatterns(text).filter((f) => !/\n/.test(text.slice(f.index, f.index + f.length)));
      const blocked = res.some((re) => re.test(text));
      if (found.length) withSecret++;
      if (found.length) expect(blocked, `seed ${seed}: a secret not blocked`).toBe(true);
      else if (blocked) expect(placeholderOrEmphasis(text), `seed ${seed}: blocked without a secret`).toBe(true);
    }
    expect(withSecret).toBeGreaterThan(300);
  });
});
