/**
 * Digests end to end on both platforms: a channel subscribes with the slash command (real Bolt against the fake
 * Slack; real discord.js against the fake Discord gateway), the job `digests.send` runs at the due instant (a
 * fake clock), and the channel gets the digest for the previous UTC day, computed from the simulator's reports
 * (synced by the send), with the cost chart: uploaded on Slack (getUploadURLExternal, the bytes,
 * completeUploadExternal), attached on Discord. `digest preview` answers the caller only, in text.
 * Runs on SQLite and PostgreSQL (DB_PROVIDER).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOBS } from '../../src/core/jobs.js';
import type { FakeDiscord } from '../fakes/discord.js';
import { visibleText } from '../fakes/slack.js';
import { linkChatUser, startTestApp, type TestApp, TestClock } from '../support/app.js';
import { discordText } from '../support/discord-text.js';
import { pngInfo } from '../support/png.js';

const DAY_MS = 86_400_000;
let t: TestApp;
let d: FakeDiscord;
const clock = new TestClock();
const job = JOBS.find((j) => j.name === 'digests.send')!;
// Yesterday (UTC) is the day of the sends, so every instant is in the simulator's past; the digests report on
// the day before it.
const base = Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS;
const at = (hhmm: string) => new Date(`${new Date(base).toISOString().slice(0, 10)}T${hhmm}:00Z`);
const reported = new Date(base - DAY_MS).toISOString().slice(0, 10);

beforeAll(async () => {
  t = await startTestApp({ discord: true, clock });
  d = t.discord!;
  await linkChatUser(t, 'slack', 'T0QM', 'UALICE', 'alice@example.com');
  await linkChatUser(t, 'discord', d.guildId, d.users.alice.id, 'alice@example.com');
  clock.set(at('01:00'));
}, 30_000);
afterAll(async () => {
  await t?.close();
});

describe('digest delivery', () => {
  it('Slack: subscribed with the slash command, posted at its time with the chart uploaded', async () => {
    const r = await t.slack.command(t.url, 'digest subscribe daily 03:00 UTC', 'UALICE');
    expect(visibleText(r.reply)).toContain('daily at 03:00 UTC');

    clock.set(at('02:59'));
    expect(await job.run(t.qm.services)).toBe('0 sent');
    expect(t.slack.filesIn('C0GENERAL')).toHaveLength(0);

    t.slack.calls = [];
    clock.set(at('03:00'));
    expect(await job.run(t.qm.services)).toBe('1 sent');
    const posted = [...t.slack.messages.values()].filter((m) => m.channel === 'C0GENERAL');
    expect(posted).toHaveLength(1);
    const text = visibleText(posted[0]);
    expect(text).toContain(`Claude usage digest for ${reported}`);
    expect(text).toMatch(/Top workspaces \(cost report\)/);
    expect(text).toMatch(/\$\d/);
    // The report requests were made by this send (nothing was ingested before).
    expect(t.sim.requests.some((q) => q.path.includes('cost_report'))).toBe(true);

    const slackMethods = t.slack.calls.map((c) => c.method);
    expect(slackMethods).toEqual([
      'chat.postMessage',
      'files.getUploadURLExternal',
      'upload_url',
      'files.completeUploadExternal',
    ]);
    const files = t.slack.filesIn('C0GENERAL');
    expect(files).toHaveLength(1);
    expect(files[0]!.filename).toBe(`cost-${reported}.png`);
    const png = pngInfo(files[0]!.data);
    expect(png.width).toBeGreaterThanOrEqual(400);
    expect(png.height).toBeGreaterThanOrEqual(200);

    clock.set(at('03:01'));
    expect(await job.run(t.qm.services)).toBe('0 sent');
    expect(t.slack.filesIn('C0GENERAL')).toHaveLength(1);
  }, 180_000);

  it('Slack: preview answers the caller only, as text, and says the chart comes with posted digests', async () => {
    const before = t.slack.messages.size;
    const r = await t.slack.command(t.url, 'digest preview', 'UALICE');
    expect(r.reply.response_type ?? 'ephemeral').toBe('ephemeral');
    const text = visibleText(r.reply);
    expect(text).toContain(`Claude usage digest for ${reported}`);
    expect(text).toContain('Posted digests come with a chart');
    expect(t.slack.messages.size).toBe(before);
  }, 60_000);

  it('Discord: subscribed with the slash command, posted at its local time with the chart attached', async () => {
    const sent = d.sendCommand({
      user: 'alice',
      group: 'digest',
      subcommand: 'subscribe',
      args: { cadence: 'daily', time: '04:30', timezone: 'Asia/Kolkata' },
    });
    expect(discordText(await d.replyTo(sent.id, 10_000))).toContain('daily at 04:30 Asia/Kolkata');
    const inChannel = () =>
      [...d.messages.values()].filter((m) => m.channel_id === d.channelId && m.attachments?.length);

    // 04:30 in Kolkata (UTC+5:30) is 23:00 UTC the day before: the subscription was made at 01:00 UTC, after it.
    clock.set(at('22:59'));
    expect(await job.run(t.qm.services)).toBe('0 sent');
    clock.set(at('23:00'));
    expect(await job.run(t.qm.services)).toBe('1 sent');
    const msgs = inChannel();
    expect(msgs).toHaveLength(1);
    // Sent at 23:00 UTC: the last complete UTC day is still the one before.
    expect(discordText(msgs[0])).toContain(`Claude usage digest for ${reported}`);
    expect(msgs[0].attachments.map((a: any) => a.filename)).toEqual([`cost-${reported}.png`]);
    const bytes = Buffer.from(await (await fetch(msgs[0].attachments[0].url)).arrayBuffer());
    expect(pngInfo(bytes).width).toBeGreaterThanOrEqual(400);

    clock.set(at('23:30'));
    expect(await job.run(t.qm.services)).toBe('0 sent');
    expect(inChannel()).toHaveLength(1);
  }, 180_000);
});
