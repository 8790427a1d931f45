/**
 * A reply's files (the digest chart) reaching chat through the notifiers as the running app wires them: the real
 * Bolt WebClient against the fake Slack Web API (files.uploadV2: getUploadURLExternal, the POST of the bytes,
 * completeUploadExternal), and the real discord.js REST client against the fake Discord (a multipart message with
 * an attachment). What arrives must be the very PNG that was rendered, next to a message whose text is complete.
 */
import { REST, Routes } from 'discord.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { renderCostChart } from '../src/charts/cost-chart.js';
import { ActionRegistry } from '../src/core/command/actions.js';
import { CommandRegistry, defineCommand } from '../src/core/command/define.js';
import { Dispatcher } from '../src/core/command/dispatch.js';
import { md, type Reply, type ReplyFile, reply } from '../src/core/command/reply.js';
import { IdentityResolver } from '../src/core/identity/resolve.js';
import { handleInteraction } from '../src/discord/interactions.js';
import { FairQueue } from '../src/runtime/fair-queue.js';
import { BOT_TOKEN, visibleText } from './fakes/slack.js';
import { startTestApp, type TestApp } from './support/app.js';
import { discordText } from './support/discord-text.js';
import { pngInfo } from './support/png.js';

let t: TestApp;
let chart: ReplyFile;

const days = ['2026-11-22', '2026-11-23', '2026-11-24'];
const digest = (files: ReplyFile[]): Reply =>
  reply({
    visibility: 'in_channel',
    title: 'Claude usage, Tuesday 24 November',
    text: `Yesterday: **$1,234.56** across ${md.code('Production')} and ${md.code('Research')}.`,
    files,
  });

beforeAll(async () => {
  t = await startTestApp({ discord: true });
  const data = await renderCostChart({
    title: 'Cost per day',
    days,
    series: [
      { name: 'Production', usd: [812.1, 790.02, 1010.5] },
      { name: 'Research', usd: [201.3, 180, 224.06] },
    ],
    width: 720,
    height: 360,
  });
  chart = {
    name: 'cost-2026-11-24.png',
    title: 'Cost per day, last 3 days',
    alt: 'Stacked bar chart of cost per day by workspace: Production about $800 to $1,000 a day, Research about $200.',
    contentType: 'image/png',
    data,
  };
});
afterAll(async () => {
  await t?.close();
});
beforeEach(() => {
  t.slack.calls = [];
  t.slack.filesWriteMissing = false;
});

describe('Slack: a posted reply with a file', () => {
  it('posts the message, then uploads the PNG into the same channel in three calls', async () => {
    const ref = await t.qm.services.notifiers.slack!.post('T0QM', 'C0DIGEST', digest([chart]));
    const methods = t.slack.calls.map((c) => c.method);
    expect(methods).toEqual([
      'chat.postMessage',
      'files.getUploadURLExternal',
      'upload_url',
      'files.completeUploadExternal',
    ]);
    const [post, getUrl, upload, complete] = t.slack.calls;
    expect(post!.args.channel).toBe('C0DIGEST');
    expect(ref).toEqual({ channelId: 'C0DIGEST', messageId: expect.any(String) });
    // The text is whole without the image.
    expect(visibleText(t.slack.messages.get(ref.messageId))).toContain('$1,234.56');

    expect(getUrl!.args.filename).toBe('cost-2026-11-24.png');
    expect(Number(getUrl!.args.length)).toBe(chart.data.length);
    expect(getUrl!.args.alt_text ?? getUrl!.args.alt_txt).toBe(chart.alt);
    expect(upload!.args.bytes).toBe(chart.data.length);
    const [shared] = t.slack.filesIn('C0DIGEST');
    expect(complete!.args.channel_id).toBe('C0DIGEST');
    expect(JSON.parse(complete!.args.files)).toEqual([{ id: shared!.id, title: chart.title }]);
    expect(upload!.args.file_id).toBe(shared!.id);
    expect(complete!.token).toBe(BOT_TOKEN);

    expect(shared).toMatchObject({ filename: 'cost-2026-11-24.png', title: chart.title, threadTs: null });
    expect(Buffer.compare(shared!.data, Buffer.from(chart.data))).toBe(0);
    expect(pngInfo(shared!.data)).toMatchObject({ width: 720, height: 360 });
  });

  it('uploads each file once, in order, and a reply without files makes no upload call', async () => {
    const second: ReplyFile = { ...chart, name: 'second.png', title: 'Second' };
    await t.qm.services.notifiers.slack!.post('T0QM', 'C0TWO', digest([chart, second]));
    expect(t.slack.filesIn('C0TWO').map((f) => f.filename)).toEqual(['cost-2026-11-24.png', 'second.png']);

    t.slack.calls = [];
    await t.qm.services.notifiers.slack!.post('T0QM', 'C0TWO', digest([]));
    expect(t.slack.calls.map((c) => c.method)).toEqual(['chat.postMessage']);
  });

  it('sends a DM its file in the DM channel', async () => {
    await t.qm.services.notifiers.slack!.dm('T0QM', 'UALICE', digest([chart]));
    const [dmFile] = t.slack.filesIn('DUALICE');
    expect(Buffer.compare(dmFile!.data, Buffer.from(chart.data))).toBe(0);
  });

  it('without files:write, posts the message anyway and logs why the chart is missing', async () => {
    t.slack.filesWriteMissing = true;
    const before = t.slack.files.length;
    const ref = await t.qm.services.notifiers.slack!.post('T0QM', 'C0NOSCOPE', digest([chart]));
    expect(visibleText(t.slack.messages.get(ref.messageId))).toContain('$1,234.56');
    expect(t.slack.files.length).toBe(before);
    expect(t.slack.calls.map((c) => c.method)).toEqual(['chat.postMessage', 'files.getUploadURLExternal']);
    const line = t.logs.find((l) => l.includes('files:write') && l.includes('C0NOSCOPE'));
    expect(line).toBeDefined();
  });
});

describe('the fake Slack upload endpoints answer like Slack', () => {
  const api = async (method: string, args: Record<string, string>) => {
    const res = await fetch(`${t.slack.apiUrl}${method}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(args).toString(),
    });
    return (await res.json()) as any;
  };

  it('checks filename and length, and completes only files whose bytes arrived', async () => {
    expect((await api('files.getUploadURLExternal', { length: '10' })).error).toBe('invalid_arguments');
    expect((await api('files.getUploadURLExternal', { filename: 'a.png' })).error).toBe('invalid_arguments');
    expect((await api('files.getUploadURLExternal', { filename: 'a.png', length: '0' })).error).toBe(
      'missing_argument',
    );
    const got = await api('files.getUploadURLExternal', { filename: 'a.png', length: '3' });
    expect(got).toMatchObject({ ok: true, file_id: expect.stringMatching(/^F/) });
    const files = JSON.stringify([{ id: got.file_id, title: 'A' }]);
    // Nothing uploaded yet, and an id Slack never gave out.
    expect((await api('files.completeUploadExternal', { files, channel_id: 'C1' })).error).toBe('file_not_found');
    expect(
      (await api('files.completeUploadExternal', { files: JSON.stringify([{ id: 'F404' }]), channel_id: 'C1' })).error,
    ).toBe('file_not_found');
    expect((await api('files.completeUploadExternal', { files: 'not json' })).error).toBe('invalid_arguments');
    const up = await fetch(got.upload_url, { method: 'POST', body: new Uint8Array([1, 2, 3]) });
    expect(await up.text()).toBe('OK - 3');
    expect(await api('files.completeUploadExternal', { files, channel_id: 'C1', thread_ts: '1.000001' })).toMatchObject(
      {
        ok: true,
        files: [{ id: got.file_id, title: 'A' }],
      },
    );
    expect(t.slack.filesIn('C1')[0]).toMatchObject({ threadTs: '1.000001', data: Buffer.from([1, 2, 3]) });
    // Completed once only.
    expect((await api('files.completeUploadExternal', { files, channel_id: 'C1' })).error).toBe('file_not_found');
  });
});

describe('Discord: a posted reply with a file', () => {
  it('sends one multipart message whose attachment is the PNG, with its alt text', async () => {
    const d = t.discord!;
    const ref = await t.qm.services.notifiers.discord!.post(d.guildId, d.channelId, digest([chart]));
    const call = d.calls.find((c) => c.method === 'POST' && c.path === `/channels/${d.channelId}/messages`)!;
    expect(call.status).toBe(200);
    expect(call.body.__files.map((f: any) => f.key)).toEqual(['files[0]']);
    const msg = d.messages.get(ref.messageId)!;
    expect(discordText(msg)).toContain('$1,234.56');
    expect(msg.attachments).toHaveLength(1);
    expect(msg.attachments[0]).toMatchObject({
      filename: 'cost-2026-11-24.png',
      description: chart.alt,
      content_type: 'image/png',
      size: chart.data.length,
    });
    const bytes = d.attachmentBytes(ref.messageId)!;
    expect(Buffer.compare(bytes, Buffer.from(chart.data))).toBe(0);
    // And as a client downloads it from the attachment's URL.
    const downloaded = Buffer.from(await (await fetch(msg.attachments[0].url)).arrayBuffer());
    expect(pngInfo(downloaded)).toMatchObject({ width: 720, height: 360 });

    // An edit keeps the attachment.
    await t.qm.services.notifiers.discord!.update(d.guildId, ref, digest([]));
    expect(d.messages.get(ref.messageId)!.attachments).toHaveLength(1);
  });

  it('sends a DM with its attachment, and a reply without files as plain JSON', async () => {
    const d = t.discord!;
    await t.qm.services.notifiers.discord!.dm(d.guildId, d.users.alice.id, digest([chart]));
    const dm = [...d.messages.values()].at(-1)!;
    expect(Buffer.compare(d.attachmentBytes(dm.id)!, Buffer.from(chart.data))).toBe(0);

    const ref = await t.qm.services.notifiers.discord!.post(d.guildId, d.channelId, digest([]));
    expect(d.messages.get(ref.messageId)!.attachments).toEqual([]);
    const call = d.calls.at(-1)!;
    expect(call.body.__files).toBeUndefined();
  });
});

describe('Discord: an interaction reply with a file', () => {
  /**
   * The real dispatcher and interaction handler with one extra command whose reply carries the chart (no built
   * command returns files yet); the reply goes out through discord.js's REST client to the fake.
   */
  const chartCommand = defineCommand({
    path: ['chart'],
    description: 'Reply with the chart',
    access: 'public',
    options: z.object({ public: z.boolean().optional().describe('Post it in the channel') }),
    async handler({ options }) {
      return reply({ ...digest([chart]), visibility: options.public ? 'in_channel' : 'ephemeral' });
    },
  });
  const run = async (args: Record<string, boolean>) => {
    const d = t.discord!;
    const rest = new REST({ version: '10', api: d.restApi }).setToken(d.token);
    const q = t.qm;
    const dispatcher = new Dispatcher({
      queue: new FairQueue(),
      registry: new CommandRegistry([chartCommand]),
      actions: new ActionRegistry([]),
      services: q.services,
      identity: new IdentityResolver(q.store, q.services.directory, q.admin, q.services.clock),
      store: q.store,
      clock: q.services.clock,
      logger: q.logger,
    });
    const raw = d.buildCommand({ user: 'bob', subcommand: 'chart', args });
    await handleInteraction({ dispatcher, rest, hasBotToken: true, logger: q.logger }, raw, async (body) => {
      await rest.post(Routes.interactionCallback(raw.id, raw.token), { body, auth: false });
    });
    rest.clearHashSweeper();
    rest.clearHandlerSweeper();
    return d.interaction(raw.id)!;
  };

  it('an ephemeral reply carries the PNG as an attachment of @original', async () => {
    const d = t.discord!;
    const it = await run({});
    const original = d.messages.get(it.originalId!)!;
    expect(discordText(original)).toContain('$1,234.56');
    expect(original.attachments.map((a: any) => a.filename)).toEqual(['cost-2026-11-24.png']);
    expect(Buffer.compare(d.attachmentBytes(original.id)!, Buffer.from(chart.data))).toBe(0);
  });

  it('a public reply is posted in the channel with the PNG, and the caller is told', async () => {
    const d = t.discord!;
    const before = new Set(d.messages.keys());
    const it = await run({ public: true });
    const fresh = [...d.messages.values()].filter((m) => !before.has(m.id) && m.id !== it.originalId);
    expect(fresh).toHaveLength(1);
    const posted = fresh[0]!;
    expect(posted.channel_id).toBe(d.channelId);
    expect(posted.flags & (1 << 6)).toBe(0);
    expect(Buffer.compare(d.attachmentBytes(posted.id)!, Buffer.from(chart.data))).toBe(0);
    expect(discordText(d.messages.get(it.originalId!))).toContain('Posted in this channel');
  });
});
