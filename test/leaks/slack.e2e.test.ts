/**
 * Leaked keys in Slack end to end (issue 11): real Bolt against the fake Slack, which delivers signed Events API
 * callbacks (message, message_changed, file_share, bot_message), the Admin API simulator over HTTP, a fresh
 * database. A key posted in a channel, edited into a message, replied in a thread or pasted as a snippet yields
 * one alert naming the right key; a second sighting joins the incident; another app's bot is ignored; the poster
 * is told how to delete the message, or it is deleted with SLACK_ADMIN_USER_TOKEN; Deactivate works for an
 * approver only; nothing key-shaped is logged, sent or stored. Runs on SQLite and PostgreSQL (DB_PROVIDER).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimApiKey } from '../../src/anthropic/simulator/index.js';
import { ADMIN_USER_TOKEN, type FakeSlackMessage, visibleText, waitFor } from '../fakes/slack.js';
import { linkChatUser, startTestApp, type TestApp } from '../support/app.js';
import { testProvider } from '../support/db.js';
import { byPatterns } from '../support/leaks.js';
import { querySql } from '../support/sql.js';

const SECURITY = 'C0SECURITY';

/** A real-shaped API key (108 characters) whose partial_key_hint is the given key's, as a leak of it would be. */
function secretFor(k: SimApiKey, salt = 'leak'): string {
  const [head, tail] = k.partial_key_hint!.split('...') as [string, string];
  const middle = createHash('sha256').update(`${k.id}:${salt}`).digest('base64url').repeat(3).slice(0, 88);
  const secret = `${head}${middle}${tail}`;
  expect(secret).toHaveLength(108);
  return secret;
}

/** Active keys with a hint, each with its own name (so a card naming one names no other). */
function activeKeys(t: TestApp): SimApiKey[] {
  const keys = t.sim.state.apiKeys.filter((k) => t.sim.state.keyStatus(k) === 'active' && k.partial_key_hint);
  const names = new Map<string, number>();
  for (const k of t.sim.state.apiKeys) names.set(k.name, (names.get(k.name) ?? 0) + 1);
  return keys.filter((k) => names.get(k.name) === 1);
}

const inChannel = (t: TestApp, ch: string) => [...t.slack.messages.values()].filter((m) => m.channel === ch);
const cardsNaming = (t: TestApp, ch: string, k: SimApiKey) =>
  inChannel(t, ch).filter((m) => visibleText(m).includes(k.name));
const cardFor = (t: TestApp, ch: string, k: SimApiKey, ms = 10_000) =>
  waitFor(() => cardsNaming(t, ch, k)[0], ms) as Promise<FakeSlackMessage>;
const dmsTo = (t: TestApp, user: string) => inChannel(t, `D${user}`);
const incidents = async (t: TestApp) => (await t.qm.store.leaks.list({ limit: 100 })).incidents;

/** Every row of every table, as JSON text. */
async function databaseText(t: TestApp): Promise<string> {
  const url = t.qm.config.DATABASE_URL;
  const tables =
    testProvider() === 'postgres'
      ? (
          await querySql(url, "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'")
        ).map((r) => String(r.name))
      : (await querySql(url, "SELECT name FROM sqlite_master WHERE type = 'table'")).map((r) => String(r.name));
  const rows: unknown[] = [];
  for (const name of tables) rows.push(name, await querySql(url, `SELECT * FROM "${name}"`));
  return JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

/** Everything the run logged, sent to Slack (every Web API call: posts, updates, DMs, responses) and stored. */
async function everything(t: TestApp): Promise<string> {
  return [
    t.logs.join('\n'),
    JSON.stringify(t.slack.calls),
    JSON.stringify([...t.slack.messages.values()]),
    JSON.stringify(t.slack.responses),
    await databaseText(t),
  ].join('\n');
}

function expectNoSecrets(text: string, secrets: string[]): void {
  expect(byPatterns(text)).toEqual([]);
  for (const s of secrets) {
    // The check would see this one.
    expect(byPatterns(`x ${s} y`)).toHaveLength(1);
    expect(text).not.toContain(s);
    // Not even the part of it the hint does not show.
    expect(text).not.toContain(s.slice(16, -4));
  }
}

describe('Slack leaks, alerts in the security channel, no admin user token', () => {
  let t: TestApp;
  let keys: SimApiKey[];
  const secrets: string[] = [];
  const leak = (k: SimApiKey, salt?: string) => {
    const s = secretFor(k, salt);
    secrets.push(s);
    return s;
  };

  beforeAll(async () => {
    t = await startTestApp({ policy: ['version: 1', 'leaks:', `  channels: { slack: ${SECURITY} }`, ''].join('\n') });
    await linkChatUser(t, 'slack', 'T0QM', 'UALICE', 'alice@example.com'); // admin: an approver
    await linkChatUser(t, 'slack', 'T0QM', 'UBOB', 'bob@example.com'); // developer
    keys = activeKeys(t);
    expect(keys.length).toBeGreaterThanOrEqual(8);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  let first: FakeSlackMessage;

  it('a key posted in a channel yields one alert naming the key; the poster is told privately how to delete it', async () => {
    const k = keys[0]!;
    const posted = await t.slack.say(t.url, {
      user: 'UBOB',
      channel: 'C0GENERAL',
      text: `try this one: \`${leak(k)}\``,
    });
    expect(t.slack.events.at(-1)!.status).toBe(200);
    first = await cardFor(t, SECURITY, k);
    const text = visibleText(first);
    expect(text).toContain(k.name);
    expect(text).toContain(k.partial_key_hint!);
    expect(Object.keys(t.slack.buttons(first))).toEqual(
      expect.arrayContaining(['Deactivate', 'Archive', 'False positive']),
    );
    // The poster hears it privately, with how to delete the message (the bot cannot without an admin's token).
    const dm = await waitFor(() => dmsTo(t, 'UBOB').find((m) => /Please delete the message/.test(visibleText(m))));
    expect(visibleText(dm)).toContain(k.partial_key_hint!);
    expect(visibleText(dm)).not.toContain(secrets[0]!);
    expect(t.slack.calls.some((c) => c.method === 'chat.delete')).toBe(false);
    expect(posted.deleted).toBe(false);
    // The card links the message (chat.getPermalink).
    const permalink = t.slack.calls.find((c) => c.method === 'chat.getPermalink' && c.args.message_ts === posted.ts);
    expect(permalink?.args.channel).toBe('C0GENERAL');
    expect(text).toContain(`p${posted.ts.replace('.', '')}`);
    // One alert, in the security channel only.
    await new Promise((r) => setTimeout(r, 300));
    expect(cardsNaming(t, SECURITY, k)).toHaveLength(1);
    expect(cardsNaming(t, 'C0GENERAL', k)).toHaveLength(0);
  });

  it('a second sighting of the same key joins the incident: no second alert, the card counts it', async () => {
    const k = keys[0]!;
    const revisions = first.history.length;
    await t.slack.say(t.url, { user: 'UALICE', channel: 'C0RANDOM', text: `env: ANTHROPIC_API_KEY=${secrets[0]}` });
    await waitFor(() => first.history.length > revisions || undefined, 10_000);
    const mine = (await incidents(t)).filter((i) => i.hint === k.partial_key_hint);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ apiKeyId: k.id, apiKeyName: k.name, sightingCount: 2 });
    expect(await t.qm.store.leaks.sightings(mine[0]!.id)).toHaveLength(2);
    expect(cardsNaming(t, SECURITY, k)).toHaveLength(1);
  });

  it('a flood of messages from one poster is scanned late rather than dropped: every sighting is counted', async () => {
    const k = keys[0]!;
    const [incident] = (await incidents(t)).filter((i) => i.hint === k.partial_key_hint);
    const before = incident!.sightingCount;
    // More at once than the work queue takes waiting from one user (20): the rest wait for room.
    await Promise.all(
      Array.from({ length: 30 }, (_, n) =>
        t.slack.say(t.url, { user: 'UBOB', channel: 'C0RANDOM', text: `try ${n}: ${secrets[0]}` }),
      ),
    );
    const all = await waitFor(async () => {
      const now = (await t.qm.store.leaks.get(incident!.id))!.sightingCount;
      return now >= before + 30 ? now : undefined;
    }, 30_000);
    expect(all).toBe(before + 30);
    expect(t.logs.join('\n')).not.toContain('was not scanned');
  }, 60_000);

  it('an edited message is caught', async () => {
    const k = keys[1]!;
    const m = await t.slack.say(t.url, { user: 'UBOB', channel: 'C0GENERAL', text: 'the key is coming' });
    await t.slack.edit(t.url, m, `the key is \`${leak(k)}\``);
    const card = await cardFor(t, SECURITY, k);
    expect(visibleText(card)).toContain(k.partial_key_hint!);
  });

  it('a thread reply is caught', async () => {
    const k = keys[2]!;
    const parent = await t.slack.say(t.url, { user: 'UALICE', channel: 'C0GENERAL', text: 'which key do I use?' });
    await t.slack.say(t.url, { user: 'UBOB', channel: 'C0GENERAL', text: leak(k), threadTs: parent.ts });
    await cardFor(t, SECURITY, k);
  });

  it("a snippet's text is caught (files.info), not only its preview", async () => {
    const k = keys[3]!;
    // The key is past the preview's first lines: only the snippet's content has it.
    const content = [...Array.from({ length: 8 }, (_, i) => `# line ${i}`), `ANTHROPIC_API_KEY=${leak(k)}`].join('\n');
    const m = await t.slack.shareSnippet(t.url, { user: 'UBOB', channel: 'C0GENERAL', content, title: '.env' });
    await cardFor(t, SECURITY, k);
    expect(t.slack.calls.some((c) => c.method === 'files.info' && c.args.file === m.files[0]!.id)).toBe(true);
  });

  it("a key only in a message's attachment, in a private channel, is caught; so is one in a DM to the bot", async () => {
    const attached = keys[6]!;
    const direct = keys[7]!;
    await t.slack.say(t.url, {
      user: 'UBOB',
      channel: 'G0PRIVATE',
      text: 'see the config below',
      attachments: [{ fallback: 'config', title: 'config', text: `key = "${leak(attached)}"`, color: '#ccc' }],
    });
    await t.slack.say(t.url, { user: 'UBOB', channel: 'DQMBOTBOB', text: `is this right? ${leak(direct)}` });
    await cardFor(t, SECURITY, attached);
    await cardFor(t, SECURITY, direct);
  });

  it("another app's bot message is ignored", async () => {
    const ignored = keys[4]!;
    const seen = keys[5]!;
    await t.slack.botSays(t.url, { channel: 'C0GENERAL', text: `deploying with ${leak(ignored)}` });
    // A person's message after it is caught, so the pipeline was running.
    await t.slack.say(t.url, { user: 'UBOB', channel: 'C0GENERAL', text: leak(seen) });
    await cardFor(t, SECURITY, seen);
    await new Promise((r) => setTimeout(r, 300));
    expect(cardsNaming(t, SECURITY, ignored)).toHaveLength(0);
    expect((await incidents(t)).some((i) => i.hint === ignored.partial_key_hint)).toBe(false);
  });

  it("a non-approver's Deactivate is refused; an approver's sets the key inactive and updates the card", async () => {
    const k = keys[0]!;
    const deactivate = t.slack.buttons(first).Deactivate!;
    const before = first.history.length;
    const refused = await t.slack.click(t.url, { user: 'UBOB', actionId: deactivate, message: first });
    expect(refused.status).toBe(200);
    const notice = await waitFor(() => t.slack.responses.find((r) => r.id === refused.responseId)?.body);
    expect(visibleText(notice)).toMatch(/not an approver/i);
    expect(t.sim.state.keyStatus(k)).toBe('active');
    expect(first.history.length).toBe(before);

    await t.slack.click(t.url, { user: 'UALICE', actionId: deactivate, message: first });
    await waitFor(() => t.sim.state.keyStatus(k) === 'inactive' || undefined, 10_000);
    await waitFor(
      () => (first.history.length > before && /deactivated by alice/i.test(visibleText(first))) || undefined,
    );
  });

  it('nothing key-shaped is logged, sent to Slack or stored', async () => {
    expect(secrets.length).toBeGreaterThanOrEqual(8);
    expectNoSecrets(await everything(t), secrets);
  });
});

describe('Slack leaks with SLACK_ADMIN_USER_TOKEN, alerts where the key was seen', () => {
  let t: TestApp;
  let keys: SimApiKey[];
  const secrets: string[] = [];

  beforeAll(async () => {
    t = await startTestApp({ env: { SLACK_ADMIN_USER_TOKEN: ADMIN_USER_TOKEN, SLACK_ALLOWED_TEAMS: 'T0QM' } });
    await linkChatUser(t, 'slack', 'T0QM', 'UBOB', 'bob@example.com');
    keys = activeKeys(t);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it("deletes the message with the admin's user token and alerts in the channel where it was seen", async () => {
    const k = keys[0]!;
    secrets.push(secretFor(k));
    const posted = await t.slack.say(t.url, { user: 'UBOB', channel: 'C0TEAM', text: `key: ${secrets[0]}` });
    await cardFor(t, 'C0TEAM', k);
    await waitFor(() => posted.deleted || undefined);
    const del = t.slack.calls.find((c) => c.method === 'chat.delete');
    expect(del?.token).toBe(ADMIN_USER_TOKEN);
    expect(del?.args).toMatchObject({ channel: 'C0TEAM', ts: posted.ts });
    // The poster is told, and not asked to do what was done.
    const dm = await waitFor(() => dmsTo(t, 'UBOB')[0]);
    expect(visibleText(dm)).toContain('Quartermaster deleted the message');
    expect(visibleText(dm)).not.toContain('Please delete');
  });

  it('ignores a message from a workspace not in SLACK_ALLOWED_TEAMS', async () => {
    const foreign = keys[1]!;
    const seen = keys[2]!;
    secrets.push(secretFor(foreign), secretFor(seen));
    await t.slack.say(t.url, {
      user: 'UBOB',
      channel: 'C0TEAM',
      text: secrets[1]!,
      team: { id: 'T0ELSE', domain: 'else' },
    });
    await t.slack.say(t.url, { user: 'UBOB', channel: 'C0TEAM', text: secrets[2]! });
    await cardFor(t, 'C0TEAM', seen);
    await new Promise((r) => setTimeout(r, 300));
    expect(cardsNaming(t, 'C0TEAM', foreign)).toHaveLength(0);
    expect(t.logs.some((l) => l.includes('SLACK_ALLOWED_TEAMS') && l.includes('T0ELSE'))).toBe(true);
  });

  it('never logs the admin user token, nor any key', async () => {
    const all = await everything(t);
    expect(t.logs.join('\n')).not.toContain(ADMIN_USER_TOKEN);
    expect(t.logs.join('\n')).not.toContain('xoxp-');
    expectNoSecrets(all, secrets);
  });
});
