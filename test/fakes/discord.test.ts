/**
 * Self-test of test/fakes/discord.ts with the REAL discord.js Client: login, slash command with a subcommand group,
 * ephemeral deferReply + editReply, button update, 40060, 10062 after 3 s, 50027 after 15 min, 50035, DMs, modals,
 * Ed25519 signing, and a clean shutdown.
 */

import {
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  type Interaction,
  MessageFlags,
  type ModalSubmitInteraction,
  Routes,
  type TextChannel,
} from 'discord.js';
import { verifyKey } from 'discord-interactions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { FakeDiscord } from './discord.js';

let fake: FakeDiscord;
let client: Client;
const seen = new Map<string, Interaction>();
const errors = new Map<string, unknown>();

/** The bot under test: a handful of behaviours driven by the interactions the fake sends. */
async function onInteraction(i: Interaction) {
  seen.set(i.id, i);
  try {
    if (i.isChatInputCommand()) await onCommand(i);
    else if (i.isButton()) await onButton(i);
    else if (i.isModalSubmit()) await onModal(i);
  } catch (err) {
    errors.set(i.id, err);
  }
}

async function onCommand(i: ChatInputCommandInteraction) {
  const group = i.options.getSubcommandGroup(false);
  const sub = i.options.getSubcommand();
  if (group === 'keys' && sub === 'list') {
    await i.deferReply({ flags: MessageFlags.Ephemeral });
    await i.editReply({
      embeds: [{ title: 'Keys', description: `owner: ${i.options.getString('owner')} by ${i.user.username}` }],
    });
  } else if (sub === 'slow') {
    fake.advance(3_500); // the handler "took" 3.5 s before acknowledging
    await i.reply({ content: 'too late' });
  } else if (sub === 'form') {
    await i.showModal({
      custom_id: 'req:form',
      title: 'Request',
      components: [{ type: 1, components: [{ type: 4, custom_id: 'reason', label: 'Reason', style: 1 }] }],
    });
  } else if (sub === 'whois') {
    await i.reply({ content: `${i.options.getUser('who')?.username}`, withResponse: true });
  }
}

async function onButton(i: ButtonInteraction) {
  await i.update({ content: `approved by ${i.user.username}`, components: [] });
}

async function onModal(i: ModalSubmitInteraction) {
  await i.reply({ content: `reason: ${i.fields.getTextInputValue('reason')}`, flags: MessageFlags.Ephemeral });
}

const opsChannel = () => client.channels.cache.get(fake.channelId) as TextChannel;

beforeAll(async () => {
  fake = await new FakeDiscord({ heartbeatInterval: 200 }).start();
  client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.restApi, retries: 0 } });
  client.on(Events.InteractionCreate, onInteraction);
  const ready = new Promise((r) => client.once(Events.ClientReady, r));
  await client.login(fake.token);
  await ready;
});

afterAll(async () => {
  await client?.destroy();
  await fake?.stop();
});

describe('FakeDiscord with the real discord.js Client', () => {
  it('logs in: GET /gateway/bot with Bot auth, IDENTIFY with intents, READY + GUILD_CREATE, heartbeats acked', async () => {
    expect(fake.calls[0]).toMatchObject({
      method: 'GET',
      path: '/gateway/bot',
      auth: `Bot ${fake.token}`,
      status: 200,
    });
    expect(fake.intents).toBe(GatewayIntentBits.Guilds);
    expect(client.user?.id).toBe(fake.appId);
    expect(client.guilds.cache.get(fake.guildId)?.name).toBe('Acme');
    expect(opsChannel().name).toBe('ops');
    await fake.waitUntil(() => fake.heartbeats >= 1, 2000, 'a heartbeat');
    const res = await fetch(`${fake.restApi}/v10/gateway/bot`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ message: '401: Unauthorized', code: 0 });
  });

  it('registers commands (PUT keeps ids by name) and reads them back', async () => {
    const body = [{ name: 'qm', description: 'Quartermaster', options: [] }];
    const put = (await client.rest.put(Routes.applicationGuildCommands(fake.appId, fake.guildId), { body })) as any[];
    const again = (await client.rest.put(Routes.applicationGuildCommands(fake.appId, fake.guildId), { body })) as any[];
    expect(again[0].id).toBe(put[0].id);
    const got = (await client.rest.get(Routes.applicationGuildCommands(fake.appId, fake.guildId))) as any[];
    expect(got).toMatchObject([{ id: put[0].id, name: 'qm', guild_id: fake.guildId, application_id: fake.appId }]);
  });

  it('chat-input command with a subcommand group → ephemeral deferReply + editReply', async () => {
    const { id, token } = fake.sendCommand({
      user: 'alice',
      options: [
        {
          name: 'keys',
          type: 2,
          options: [{ name: 'list', type: 1, options: [{ name: 'owner', type: 3, value: 'bob' }] }],
        },
      ],
    });
    const reply = await fake.replyTo(id);
    expect(reply.embeds[0]).toMatchObject({ type: 'rich', title: 'Keys', description: 'owner: bob by alice' });
    expect(reply.flags).toBe(MessageFlags.Ephemeral); // LOADING cleared by the edit
    expect(reply.interaction_metadata).toMatchObject({ id, type: 2, user: { id: fake.users.alice.id } });
    const [cb, edit] = fake.callsFor(token);
    expect(cb).toMatchObject({ method: 'POST', body: { type: 5, data: { flags: 64 } }, auth: undefined, status: 204 });
    expect(edit).toMatchObject({
      method: 'PATCH',
      path: `/webhooks/${fake.appId}/${token}/messages/@original`,
      status: 200,
    });
    expect(fake.editsOf(reply.id).map((r) => r.via)).toEqual(['callback', 'webhook']);
    const i = seen.get(id) as ChatInputCommandInteraction;
    expect(i.inGuild() && i.member.permissions).toBeTruthy();
  });

  it('group/subcommand/args shorthand builds the same tree, with resolved users', async () => {
    const { id } = fake.sendCommand({ user: fake.users.bob, subcommand: 'whois', args: { who: fake.users.dave } });
    expect((await fake.replyTo(id)).content).toBe('dave');
    const cb = await fake.waitForCall((c) => c.path.startsWith(`/interactions/${id}/`));
    expect(cb.query.with_response).toBe('true');
    expect(cb.response.resource.message.content).toBe('dave');
  });

  it('button click (type 3 with the stored message) → update() edits the card; a second callback gets 40060', async () => {
    const card = await opsChannel().send({
      content: 'Approve key for bob?',
      components: [{ type: 1, components: [{ type: 2, style: 3, custom_id: 'req:approve:1', label: 'Approve' }] }],
    });
    const { id, token } = fake.sendButton({ user: 'alice', customId: 'req:approve:1', messageId: card.id });
    const updated = await fake.replyTo(id);
    expect(updated).toMatchObject({ id: card.id, content: 'approved by alice', components: [] });
    expect(fake.messages.get(card.id)?.content).toBe('approved by alice');
    expect(fake.editsOf(card.id).map((r) => r.via)).toEqual(['channel', 'callback']);
    expect(fake.interaction(id)?.payload.message.components[0].components[0].custom_id).toBe('req:approve:1');

    // discord.js refuses a second reply client-side (InteractionAlreadyReplied), so send the raw callback.
    const second = client.rest.post(Routes.interactionCallback(id, token), {
      body: { type: 4, data: { content: 'again' } },
      auth: false,
    });
    await expect(second).rejects.toMatchObject({ status: 400, code: 40060 });
  });

  it('a callback more than 3 s after dispatch gets 404 10062', async () => {
    const { id } = fake.sendCommand({ user: 'bob', subcommand: 'slow' });
    await fake.waitUntil(() => errors.get(id), 3000, 'the handler error');
    expect(errors.get(id)).toBeInstanceOf(DiscordAPIError);
    expect(errors.get(id)).toMatchObject({ status: 404, code: 10062, message: 'Unknown interaction' });
  });

  it('after 15 minutes the interaction token is dead (401 50027) while the bot token still edits channel messages', async () => {
    const card = await opsChannel().send({ content: 'pending' });
    const { id, token } = fake.sendCommand({
      user: 'alice',
      options: [
        {
          name: 'keys',
          type: 2,
          options: [{ name: 'list', type: 1, options: [{ name: 'owner', type: 3, value: 'x' }] }],
        },
      ],
    });
    await fake.replyTo(id);
    const i = seen.get(id) as ChatInputCommandInteraction;
    fake.advance(15 * 60_000 + 1);
    await expect(i.editReply({ content: 'late edit' })).rejects.toMatchObject({ status: 401, code: 50027 });
    const edited = await card.edit({ content: 'approved (edited with the bot token)' });
    expect(edited.content).toBe('approved (edited with the bot token)');
    expect(fake.calls.at(-1)).toMatchObject({
      method: 'PATCH',
      path: `/channels/${fake.channelId}/messages/${card.id}`,
      status: 200,
    });

    // expireToken() does the same for one token without moving the clock.
    const next = fake.sendCommand({ user: 'alice', subcommand: 'whois', args: { who: fake.users.bob } });
    await fake.replyTo(next.id);
    fake.expireToken(next.token);
    await expect((seen.get(next.id) as ChatInputCommandInteraction).fetchReply()).rejects.toMatchObject({
      code: 50027,
    });
    expect(fake.callsFor(token).at(-1)?.status).toBe(401);
  });

  it('validates bodies like Discord: a 101-char custom_id, too many rows, a long title → 400 50035', async () => {
    const long = 'x'.repeat(101);
    const err = (await opsChannel()
      .send({
        content: 'c',
        components: [{ type: 1, components: [{ type: 2, style: 1, custom_id: long, label: 'Go' }] }],
      })
      .catch((e) => e)) as DiscordAPIError;
    expect(err).toBeInstanceOf(DiscordAPIError);
    expect(err.code).toBe(50035);
    expect(err.rawError).toMatchObject({
      errors: {
        components: { '0': { components: { '0': { custom_id: { _errors: [{ code: 'BASE_TYPE_BAD_LENGTH' }] } } } } },
      },
    });
    expect(err.message).toContain('components[0].components[0].custom_id[BASE_TYPE_BAD_LENGTH]');

    const rows = Array.from({ length: 6 }, (_, r) => ({
      type: 1,
      components: [{ type: 2, style: 1, custom_id: `b${r}`, label: 'B' }],
    }));
    const body = { embeds: [{ title: 't'.repeat(257) }], components: rows };
    const res = (await client.rest
      .post(Routes.channelMessages(fake.channelId), { body })
      .catch((e) => e)) as DiscordAPIError;
    expect(res.rawError).toMatchObject({
      code: 50035,
      errors: { components: { _errors: [{}] }, embeds: { '0': { title: {} } } },
    });
    const noLabel = { components: [{ type: 1, components: [{ type: 2, style: 1, custom_id: 'n' }] }] };
    await expect(client.rest.post(Routes.channelMessages(fake.channelId), { body: noLabel })).rejects.toMatchObject({
      code: 50035,
    });
    await expect(client.rest.post(Routes.channelMessages(fake.channelId), { body: {} })).rejects.toMatchObject({
      code: 50006,
    });
  });

  it('DMs: createDM + send; GET of an unknown message is 10008; members are fetchable', async () => {
    const dm = await client.users.createDM(fake.users.carol.id);
    const sent = await dm.send('your key is ready');
    expect(fake.messages.get(sent.id)).toMatchObject({ channel_id: dm.id, content: 'your key is ready' });
    await expect(client.rest.get(Routes.channelMessage(fake.channelId, '1400000000000009999'))).rejects.toMatchObject({
      status: 404,
      code: 10008,
    });
    const member = await client.guilds.cache.get(fake.guildId)!.members.fetch(fake.users.mallory.id);
    expect(member.user.username).toBe('mallory');
  });

  it('modal: showModal (type 9) then MODAL_SUBMIT (type 5) → ephemeral reply', async () => {
    const open = fake.sendCommand({ user: 'dave', subcommand: 'form' });
    await fake.waitUntil(() => fake.interaction(open.id)?.callback?.type === 9, 3000, 'the modal');
    const { id } = fake.sendModalSubmit({ user: 'dave', customId: 'req:form', components: { reason: 'load test' } });
    expect(await fake.replyTo(id)).toMatchObject({ content: 'reason: load test', flags: 64 });
  });

  it('signedInteraction() signs like Discord (verifyKey accepts it; tampered bodies fail)', async () => {
    const body = fake.buildCommand({ user: 'alice', subcommand: 'whois', args: { who: fake.users.bob } });
    const ok = fake.signedInteraction(body);
    const sig = ok.headers['X-Signature-Ed25519']!;
    const ts = ok.headers['X-Signature-Timestamp']!;
    expect(await verifyKey(ok.body, sig, ts, fake.publicKey)).toBe(true);
    const bad = fake.signedInteraction(body, { tamper: true });
    expect(await verifyKey(bad.body, bad.headers['X-Signature-Ed25519']!, ts, fake.publicKey)).toBe(false);
  });
});

describe('gateway edge cases', () => {
  const closeCode = (url: string, frame?: unknown) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(url);
      ws.on('message', (raw) => {
        if (JSON.parse(raw.toString()).op === 10 && frame) ws.send(JSON.stringify(frame));
      });
      ws.on('close', (code) => resolve(code));
    });

  it('closes 4002 for compression or non-JSON encoding, 4004 for a wrong token; op 1 from the server is answered', async () => {
    expect(await closeCode(`${fake.gatewayUrl}?v=10&encoding=json&compress=zlib-stream`)).toBe(4002);
    expect(await closeCode(`${fake.gatewayUrl}?v=10&encoding=etf`)).toBe(4002);
    const identify = { op: 2, d: { token: 'wrong', intents: 1, properties: {} } };
    expect(await closeCode(`${fake.gatewayUrl}?v=10&encoding=json`, identify)).toBe(4004);
    const before = fake.heartbeats;
    fake.requestHeartbeat();
    await fake.waitUntil(() => fake.heartbeats > before, 1000, 'the forced heartbeat');
  });

  it('login with a wrong token: GET /gateway/bot answers 401 and discord.js reports TokenInvalid', async () => {
    const other = new Client({ intents: [], rest: { api: fake.restApi, retries: 0 } });
    await expect(other.login('MTIz.wrong.token')).rejects.toMatchObject({ code: 'TokenInvalid' });
    await other.destroy();
  });
});

describe('shutdown', () => {
  it('client.destroy() + fake.stop() leave no sockets, servers or timers of ours behind', async () => {
    await client.destroy();
    await fake.stop();
    await new Promise((r) => setTimeout(r, 50));
    const net = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap');
    expect(net).toEqual([]);
  });
});
