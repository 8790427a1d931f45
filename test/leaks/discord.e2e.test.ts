/**
 * Leaked keys in Discord, end to end: the real discord.js client on the fake gateway (members' messages and edits
 * arrive as MESSAGE_CREATE / MESSAGE_UPDATE, with content only under the Message Content intent), the Admin API
 * simulator over HTTP, a real database. What a member, the poster and the security channel see.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator } from '../../src/anthropic/simulator/index.js';
import { StartupConfigError } from '../../src/config/load.js';
import { AUTOMOD_PATTERNS } from '../../src/core/leaks/automod.js';
import { keyHint } from '../../src/core/leaks/detect.js';
import { startQuartermaster } from '../../src/main.js';
import { FakeDiscord } from '../fakes/discord.js';
import { ADMIN_KEY, linkChatUser, startTestApp, type TestApp } from '../support/app.js';
import { createTestDatabaseUrl } from '../support/db.js';
import { discordButtons, discordText } from '../support/discord-text.js';
import { byPatterns } from '../support/leaks.js';
import { querySql } from '../support/sql.js';

/** The default channel of the fake: the security channel of the policy (`leaks.channels.discord`). */
const SECURITY_CHANNEL = '1400000000000000200';
const POLICY = `version: 1\nleaks:\n  channels:\n    discord: "${SECURITY_CHANNEL}"\n`;

/** A real-shaped API key, made at run time (no key-shaped text is committed). */
function secretFor(label: string): string {
  const d = createHash('sha256').update(`discord-e2e:${label}`).digest('base64url');
  return `sk-ant-${'api03'}-${(d + d + d).slice(0, 93)}AA`;
}

let t: TestApp;
let d: FakeDiscord;
let general: string;
const keys: Record<string, { secret: string; id: string; name: string }> = {};

beforeAll(async () => {
  t = await startTestApp({ discord: true, env: { DISCORD_MESSAGE_CONTENT: '1' }, policy: POLICY });
  d = t.discord!;
  await linkChatUser(t, 'discord', d.guildId, d.users.alice.id, 'alice@example.com');
  await linkChatUser(t, 'discord', d.guildId, d.users.bob.id, 'bob@example.com');
  // Members talk in #general; alerts go to the security channel.
  general = d.addChannel('general');
  const prod = t.sim.state.workspaces.find((w) => w.name === 'prod')!;
  const bob = t.sim.state.users.find((u) => u.email === 'bob@example.com')!;
  for (const name of ['chat-bot-prod', 'edited-key', 'no-delete-key']) {
    const secret = secretFor(name);
    const k = t.sim.state.addApiKey({
      name,
      workspaceId: prod.id,
      partialKeyHint: keyHint(secret),
      createdBy: { id: bob.id, type: 'user' },
    });
    keys[name] = { secret, id: k.id, name };
  }
  // The bot knows #general once CHANNEL_CREATE arrived.
  await d.waitUntil(
    () => d.dispatched.some((e) => e.t === 'CHANNEL_CREATE' && e.d.id === general),
    5000,
    'CHANNEL_CREATE',
  );
  await new Promise((r) => setTimeout(r, 50));
});
afterAll(async () => {
  await t?.close();
});

const alertCards = (keyName: string) =>
  [...d.messages.values()].filter(
    (m) => m.channel_id === SECURITY_CHANNEL && m.author.id === d.appId && discordText(m).includes(keyName),
  );

const dmsTo = (userId: string) => {
  const dm = [...d.channels.values()].find((c) => c.type === 1 && c.recipients?.[0]?.id === userId);
  return dm ? [...d.messages.values()].filter((m) => m.channel_id === dm.id) : [];
};

/** The first truthy value of an async check, polled every 20 ms for up to 10 s. */
async function eventually<T>(check: () => Promise<T | null | undefined | false>, what: string): Promise<T> {
  const end = Date.now() + 10_000;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function command(user: string, group: string, subcommand: string) {
  const sent = d.sendCommand({ user, group, subcommand, channelId: general });
  const reply = await d.replyTo(sent.id, 10_000);
  return discordText(reply);
}

describe('scanning with DISCORD_MESSAGE_CONTENT', () => {
  it('identifies with Guilds, GuildMessages and MessageContent', () => {
    expect(d.intents).toBe((1 << 0) | (1 << 9) | (1 << 15));
  });

  it('a key posted in a channel: one alert naming the key, the message deleted, the poster told by DM', async () => {
    const k = keys['chat-bot-prod']!;
    const posted = d.postMessage('bob', `here is the key for the bot: ${k.secret} thanks`, { channelId: general });
    await d.waitUntil(() => d.deletedMessageIds.has(posted.id), 10_000, 'the message deleted');
    const cards = await d.waitUntil(() => (alertCards(k.name).length ? alertCards(k.name) : null), 10_000, 'alert');
    expect(cards).toHaveLength(1);
    const text = discordText(cards[0]);
    expect(text).toContain(keyHint(k.secret));
    expect(text).toContain('prod');
    expect(Object.keys(discordButtons(cards[0]))).toEqual(expect.arrayContaining(['Deactivate', 'False positive']));
    const dm = await d.waitUntil(() => dmsTo(d.users.bob.id).at(-1), 10_000, 'the DM');
    expect(discordText(dm)).toContain('Quartermaster deleted the message');
    expect(discordText(dm)).toContain(keyHint(k.secret));
    const deletion = d.calls.find(
      (c) => c.method === 'DELETE' && c.path === `/channels/${general}/messages/${posted.id}`,
    );
    expect(deletion?.status).toBe(204);
  });

  it('a second sighting of the same key joins the incident: no second alert', async () => {
    const k = keys['chat-bot-prod']!;
    const posted = d.postMessage('dave', `again ${k.secret}`, { channelId: general });
    await d.waitUntil(() => d.deletedMessageIds.has(posted.id), 10_000, 'the second message deleted');
    const incident = await eventually(async () => {
      const { incidents } = await t.qm.store.leaks.list({ limit: 50 });
      const i = incidents.find((x) => x.apiKeyId === k.id);
      return i && i.sightingCount === 2 ? i : null;
    }, 'two sightings');
    expect(incident.sightingCount).toBe(2);
    expect(alertCards(k.name)).toHaveLength(1);
    const { incidents } = await t.qm.store.leaks.list({ limit: 50 });
    expect(incidents.filter((i) => i.apiKeyId === k.id)).toHaveLength(1);
  });

  it('an edit that adds a key is caught', async () => {
    const k = keys['edited-key']!;
    const posted = d.postMessage('carol', 'deploying now, key in a sec', { channelId: general });
    await new Promise((r) => setTimeout(r, 200));
    expect(d.deletedMessageIds.has(posted.id)).toBe(false);
    d.editMessageAs(posted.id, `deploying now, key: \`${k.secret}\``);
    await d.waitUntil(() => d.deletedMessageIds.has(posted.id), 10_000, 'the edited message deleted');
    await d.waitUntil(() => alertCards(k.name).length === 1, 10_000, 'the alert for the edit');
    const dm = await d.waitUntil(() => dmsTo(d.users.carol.id).at(-1), 10_000, 'the DM to carol');
    expect(discordText(dm)).toContain(keyHint(k.secret));
  });

  it('without Manage Messages the message stays and the DM asks the poster to delete it', async () => {
    const k = keys['no-delete-key']!;
    d.botCanManageMessages = false;
    try {
      const posted = d.postMessage('erin', k.secret, { channelId: general });
      const dm = await d.waitUntil(() => dmsTo(d.users.erin.id).at(-1), 10_000, 'the DM to erin');
      expect(discordText(dm)).toContain('Please delete the message now');
      expect(discordText(dm)).not.toContain('Quartermaster deleted');
      expect(d.messages.has(posted.id)).toBe(true);
      const refused = d.calls.find(
        (c) => c.method === 'DELETE' && c.path === `/channels/${general}/messages/${posted.id}`,
      );
      expect(refused?.status).toBe(403);
      expect(alertCards(k.name)).toHaveLength(1);
    } finally {
      d.botCanManageMessages = true;
    }
  });

  it('bots (and the bot itself) are not scanned', async () => {
    const ci = d.addUser('ci', { bot: true });
    const secret = secretFor('from-a-bot');
    const posted = d.postMessage(ci, `build log: ${secret}`, { channelId: general });
    await new Promise((r) => setTimeout(r, 300));
    expect(d.deletedMessageIds.has(posted.id)).toBe(false);
    const { incidents } = await t.qm.store.leaks.list({ limit: 50 });
    expect(incidents.some((i) => i.hint === keyHint(secret))).toBe(false);
    // The alert cards the bot posted itself came back as MESSAGE_CREATE too, and were left alone.
    expect(d.dispatched.some((e) => e.t === 'MESSAGE_CREATE' && e.d.author.id === d.appId)).toBe(true);
  });
});

describe('alert card buttons', () => {
  it('a non-approver is refused; an approver deactivates the key through the Admin API', async () => {
    const k = keys['edited-key']!;
    const card = alertCards(k.name)[0]!;
    const deactivate = discordButtons(card).Deactivate!;
    const byBob = d.sendButton({ user: 'bob', customId: deactivate, messageId: card.id });
    const notice = await d.lastFollowUp(byBob.token, 10_000);
    expect(notice.flags & 64).toBe(64);
    expect(discordText(notice)).toContain('not an approver');
    expect(t.sim.state.apiKeys.find((x) => x.id === k.id)!.status).toBe('active');

    d.sendButton({ user: 'alice', customId: deactivate, messageId: card.id });
    await d.waitUntil(() => t.sim.state.apiKeys.find((x) => x.id === k.id)!.status === 'inactive', 10_000, 'inactive');
    await d.waitUntil(() => !discordButtons(d.messages.get(card.id)).Deactivate, 10_000, 'the card updated');
    expect(discordText(d.messages.get(card.id))).toMatch(/alice@example\.com/);
  });
});

describe('/qm alerts automod', () => {
  it('creates the AutoMod rule, and a second run updates it without a duplicate', async () => {
    const first = await command('alice', 'alerts', 'automod');
    expect(first).toContain('AutoMod rule installed');
    expect(first).toContain(`<#${SECURITY_CHANNEL}>`);
    expect(d.autoModRules.size).toBe(1);
    const rule = [...d.autoModRules.values()][0];
    expect(rule).toMatchObject({
      trigger_type: 1,
      event_type: 1,
      enabled: true,
      trigger_metadata: { regex_patterns: [...AUTOMOD_PATTERNS] },
      actions: [
        { type: 1, metadata: { custom_message: expect.stringContaining('Anthropic API key') } },
        { type: 2, metadata: { channel_id: SECURITY_CHANNEL } },
      ],
    });
    const second = await command('alice', 'alerts', 'automod');
    expect(second).toContain('AutoMod rule updated');
    expect(d.autoModRules.size).toBe(1);
    expect(d.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/auto-moderation/rules'))).toHaveLength(1);
    expect(d.calls.filter((c) => c.method === 'PATCH' && c.path.includes('/auto-moderation/rules/'))).toHaveLength(1);
  });

  it('a member who is not an admin is refused', async () => {
    const before = d.calls.length;
    const text = await command('bob', 'alerts', 'automod');
    expect(text).toContain('needs the **admin** org role');
    expect(d.calls.slice(before).some((c) => c.path.includes('auto-moderation'))).toBe(false);
  });

  it('without Manage Server, the answer says what to grant', async () => {
    d.botCanManageGuild = false;
    try {
      const text = await command('alice', 'alerts', 'automod');
      expect(text).toContain('Manage Server');
      expect(text).toContain('Safety Setup');
      expect(text).toContain(AUTOMOD_PATTERNS[0]);
      expect(d.autoModRules.size).toBe(1);
    } finally {
      d.botCanManageGuild = true;
    }
  });
});

describe('nothing key-shaped anywhere', () => {
  it('not in the logs, not in what Discord was sent, not in the database', async () => {
    const logs = t.logs.join('');
    expect(logs).toContain('discord connected');
    expect(byPatterns(logs)).toEqual([]);
    // Every REST request the app made to Discord (cards, DMs, AutoMod rules, deletions).
    expect(byPatterns(JSON.stringify(d.calls.map((c) => ({ path: c.path, query: c.query, body: c.body }))))).toEqual(
      [],
    );
    const url = t.qm.config.DATABASE_URL;
    const tables = url.startsWith('file:')
      ? (await querySql(url, `SELECT name FROM sqlite_master WHERE type = 'table'`)).map((r) => String(r.name))
      : (
          await querySql(url, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
        ).map((r) => String(r.table_name));
    expect(tables.length).toBeGreaterThan(5);
    let dump = '';
    for (const table of tables) {
      const rows = await querySql(url, `SELECT * FROM "${table}"`);
      dump += JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    }
    expect(dump).toContain(keyHint(keys['chat-bot-prod']!.secret));
    expect(byPatterns(dump)).toEqual([]);
  });
});

describe('without DISCORD_MESSAGE_CONTENT', () => {
  it('asks for no message intent, receives no message, scans nothing', async () => {
    const plain = await startTestApp({ discord: true, policy: POLICY });
    try {
      const fake = plain.discord!;
      expect(fake.intents).toBe(1);
      const secret = secretFor('unscanned');
      const posted = fake.postMessage('bob', `key ${secret}`);
      await new Promise((r) => setTimeout(r, 300));
      expect(fake.dispatched.some((e) => e.t === 'MESSAGE_CREATE')).toBe(false);
      expect(fake.deletedMessageIds.has(posted.id)).toBe(false);
      expect((await plain.qm.store.leaks.list({ limit: 10 })).total).toBe(0);
    } finally {
      await plain.close();
    }
  });

  it('with it, a server outside DISCORD_ALLOWED_GUILDS is not scanned', async () => {
    const other = await startTestApp({
      discord: true,
      env: { DISCORD_MESSAGE_CONTENT: 'true', DISCORD_ALLOWED_GUILDS: '1499999999999999999' },
    });
    try {
      const fake = other.discord!;
      expect(fake.intents).toBe((1 << 0) | (1 << 9) | (1 << 15));
      const posted = fake.postMessage('bob', `key ${secretFor('elsewhere')}`);
      await fake.waitUntil(() => fake.dispatched.some((e) => e.t === 'MESSAGE_CREATE'), 5000, 'the dispatch');
      await new Promise((r) => setTimeout(r, 300));
      expect(fake.deletedMessageIds.has(posted.id)).toBe(false);
      expect((await other.qm.store.leaks.list({ limit: 10 })).total).toBe(0);
    } finally {
      await other.close();
    }
  });
});

describe('the Message Content intent not enabled for the bot', () => {
  it('stops start-up with one sentence saying where to switch it on (close 4014)', async () => {
    const fake = await new FakeDiscord().start();
    fake.allowMessageContent = false;
    const sim = await startSimulator({ port: 0, host: '127.0.0.1', adminKeys: [ADMIN_KEY] });
    const db = await createTestDatabaseUrl();
    try {
      const started = startQuartermaster({
        env: {
          DATABASE_URL: db.url,
          ANTHROPIC_ADMIN_KEY: ADMIN_KEY,
          ANTHROPIC_BASE_URL: sim.url,
          DISCORD_TOKEN: fake.token,
          DISCORD_APPLICATION_ID: fake.appId,
          DISCORD_API_URL: fake.restApi,
          DISCORD_MESSAGE_CONTENT: '1',
          PORT: '0',
          HOST: '127.0.0.1',
          LOG_LEVEL: 'silent',
        },
        print: () => {},
        skipMigrate: true,
        scheduler: false,
      });
      await expect(started).rejects.toBeInstanceOf(StartupConfigError);
      await expect(started).rejects.toThrow(
        /Message Content intent \(4014\).*Privileged Gateway Intents.*DISCORD_MESSAGE_CONTENT/,
      );
      expect(fake.identifies).toHaveLength(0);
    } finally {
      await fake.stop();
      await sim.close();
      await db.drop();
    }
  });
});
