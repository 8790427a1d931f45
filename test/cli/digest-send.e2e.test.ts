/**
 * `npx quartermaster digest send` as an operator runs it: a separate process with only the operator's environment
 * (no admin key: the built-in simulated organization), a fresh database, the bot token of the fake Slack. It
 * posts the digest of the day asked for, with the chart uploaded, and says where; a missing channel, a bad date
 * or a platform without credentials exits with one clear sentence. SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOT_TOKEN, FakeSlack, SIGNING_SECRET, visibleText } from '../fakes/slack.js';
import { runCli, STACK_LINE } from '../support/cli.js';
import { createTestDatabaseUrl } from '../support/db.js';
import { pngInfo } from '../support/png.js';

const DAY = 86_400_000;
let db: { url: string; drop(): Promise<void> };
let slack: FakeSlack;
const env = () => ({
  DATABASE_URL: db.url,
  LOG_LEVEL: 'warn',
  SLACK_BOT_TOKEN: BOT_TOKEN,
  SLACK_SIGNING_SECRET: SIGNING_SECRET,
  SLACK_API_URL: slack.apiUrl,
});
const day = new Date(Math.floor(Date.now() / DAY) * DAY - 2 * DAY).toISOString().slice(0, 10);

beforeAll(async () => {
  db = await createTestDatabaseUrl();
  slack = await new FakeSlack().start();
});
afterAll(async () => {
  await slack?.stop();
  await db?.drop();
});

describe('digest send', () => {
  it('posts the digest of that day to the Slack channel, with the chart', async () => {
    const r = await runCli(['digest', 'send', '--channel', 'C0FINANCE', '--date', day], {
      env: env(),
      timeoutMs: 240_000,
    });
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Posted the digest for ${day} to slack channel C0FINANCE.`);
    const posted = [...slack.messages.values()].filter((m) => m.channel === 'C0FINANCE');
    expect(posted).toHaveLength(1);
    expect(visibleText(posted[0])).toContain(`Claude usage digest for ${day} (UTC) · Acme AI (simulated)`);
    const [chart] = slack.filesIn('C0FINANCE');
    expect(chart!.filename).toBe(`cost-${day}.png`);
    expect(pngInfo(chart!.data)).toMatchObject({ width: 960, height: 480 });
  }, 250_000);

  it('refuses without a channel, with a bad date, and for a platform that is not configured', async () => {
    const none = await runCli(['digest', 'send'], { env: env() });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('digest send needs --channel ID');
    const bad = await runCli(['digest', 'send', '--channel', 'C1', '--date', '2026-02-30'], { env: env() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--date takes a day as YYYY-MM-DD, not "2026-02-30".');
    const future = new Date(Date.now() + DAY).toISOString().slice(0, 10);
    const notOver = await runCli(['digest', 'send', '--channel', 'C1', '--date', future], { env: env() });
    expect(notOver.code).toBe(2);
    expect(notOver.stderr).toContain('is not over yet');
    const discord = await runCli(['digest', 'send', '--channel', '123', '--platform', 'discord', '--date', day], {
      env: env(),
      timeoutMs: 120_000,
    });
    expect(discord.stderr).not.toMatch(STACK_LINE);
    expect(discord.code).toBe(78);
    expect(discord.stderr).toContain('Discord is not configured: set DISCORD_TOKEN');
    expect([...slack.messages.values()].filter((m) => m.channel !== 'C0FINANCE')).toHaveLength(0);
  }, 250_000);
});
