/**
 * DISCORD_ALLOWED_GUILDS: interactions from any other server, or from a DM, are refused with one ephemeral
 * sentence and nothing runs, on the gateway and on the HTTP interactions endpoint alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeDiscord } from '../fakes/discord.js';
import { linkChatUser, startTestApp, type TestApp } from '../support/app.js';
import { discordText } from '../support/discord-text.js';

const ALLOWED = '1400000000000000100'; // the fake's own server
const OTHER = '1400000000000000999';
const REFUSAL =
  'This Quartermaster serves only the Discord servers its operator allowed (DISCORD_ALLOWED_GUILDS), and this server is not one of them. Nothing was run.';

let t: TestApp;
let d: FakeDiscord;

beforeAll(async () => {
  t = await startTestApp({ discord: true, env: { DISCORD_ALLOWED_GUILDS: `140000000000000777, ${ALLOWED}` } });
  d = t.discord!;
  expect(d.guildId).toBe(ALLOWED);
  await linkChatUser(t, 'discord', OTHER, d.users.alice.id, 'alice@example.com');
  await linkChatUser(t, 'discord', ALLOWED, d.users.alice.id, 'alice@example.com');
});
afterAll(async () => {
  await t?.close();
});

/** Audit entries of anything run for the refused server (a refusal runs nothing, so writes none). */
const auditCount = async () =>
  (await t.qm.store.audit.list({ limit: 500 })).entries.filter((e) => e.teamId === OTHER).length;

it('does not warn at start-up about servers that are not allowed', () => {
  expect(t.logs.join('')).not.toContain('DISCORD_ALLOWED_GUILDS is not set');
});

describe('gateway', () => {
  it('refuses a command from a server not in the list, ephemerally, and runs nothing', async () => {
    const before = await auditCount();
    const sent = d.sendCommand({ user: 'alice', guildId: OTHER, group: 'keys', subcommand: 'list' });
    const reply = await d.replyTo(sent.id, 10_000);
    const callback = d.calls.find((c) => c.path === `/interactions/${sent.id}/${sent.token}/callback`)!;
    expect(callback.body.type).toBe(4);
    expect(reply.flags & 64).toBe(64);
    expect(discordText(reply)).toContain(REFUSAL);
    expect(await auditCount()).toBe(before);
  });

  it('refuses a button click from a server not in the list', async () => {
    // Any message of the bot's will do as the clicked message: the click is refused before it is looked at.
    const shown = await d.replyTo(d.sendCommand({ user: 'alice', subcommand: 'whoami' }).id, 10_000);
    const payload = d.buildInteraction(
      3,
      { custom_id: 'qm_whatever', component_type: 2 },
      { user: 'alice', guildId: OTHER, message: shown },
    );
    const sent = (d as any).dispatchInteraction(payload);
    const reply = await d.replyTo(sent.id, 10_000);
    expect(reply.flags & 64).toBe(64);
    expect(discordText(reply)).toContain(REFUSAL);
  });

  it('refuses a DM', async () => {
    const sent = d.sendCommand({ user: 'alice', guildId: null, subcommand: 'whoami' });
    const reply = await d.replyTo(sent.id, 10_000);
    expect(discordText(reply)).toContain('and this direct message is not one of them. Nothing was run.');
  });

  it('serves a server in the list', async () => {
    const sent = d.sendCommand({ user: 'alice', subcommand: 'whoami' });
    const reply = await d.replyTo(sent.id, 10_000);
    expect(discordText(reply)).toContain('alice@example.com');
  });
});

describe('HTTP interactions endpoint', () => {
  async function post(payload: any) {
    const signed = d.signedInteraction(payload);
    const res = await fetch(`${t.url}/discord/interactions`, {
      method: 'POST',
      headers: signed.headers,
      body: signed.body,
    });
    return { status: res.status, json: (await res.json()) as any };
  }

  it('refuses a command from a server not in the list in the HTTP response, and runs nothing', async () => {
    const before = await auditCount();
    const r = await post(d.buildCommand({ user: 'alice', guildId: OTHER, group: 'keys', subcommand: 'list' }));
    expect(r.status).toBe(200);
    expect(r.json.type).toBe(4);
    expect(r.json.data.flags).toBe(64);
    expect(discordText(r.json.data)).toContain(REFUSAL);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await auditCount()).toBe(before);
  });

  it('still answers PING, and serves a server in the list', async () => {
    expect((await post({ id: '1', application_id: d.appId, type: 1, token: 't', version: 1 })).json).toEqual({
      type: 1,
    });
    const r = await post(d.buildCommand({ user: 'alice', subcommand: 'whoami' }));
    expect(r.json).toEqual({ type: 5, data: { flags: 64 } });
  });
});
