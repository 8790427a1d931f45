/**
 * `npm start` as an operator runs it: a separate process, configured only through the operator
 * contract's environment variables, on a database it migrates itself, talking to a Slack and an Admin
 * API it knows only by URL. This is how the product is checked from outside.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/anthropic/simulator/index.js';
import { FakeDiscord } from '../fakes/discord.js';
import { BOT_TOKEN, FakeSlack, SIGNING_SECRET, visibleText } from '../fakes/slack.js';
import { ADMIN_KEY } from '../support/app.js';
import { createBareDatabaseUrl } from '../support/db.js';
import { discordText } from '../support/discord-text.js';
import { type BotProcess, root, startBotProcess, stopBotProcess } from '../support/process.js';

let bot: BotProcess;
const output = () => bot.output();
let sim: Simulator;
let slack: FakeSlack;
let discord: FakeDiscord;
let db: { url: string; drop(): Promise<void> };
let url: string;

beforeAll(async () => {
  sim = await startSimulator({ adminKeys: [ADMIN_KEY] });
  slack = await new FakeSlack().start();
  slack.addUser({ id: 'UALICE', name: 'alice', email: 'alice@example.com' });
  discord = await new FakeDiscord().start();
  db = await createBareDatabaseUrl();
  bot = await startBotProcess(['npm', 'start'], {
    DATABASE_URL: db.url,
    ANTHROPIC_ADMIN_KEY: ADMIN_KEY,
    ANTHROPIC_BASE_URL: sim.url,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.appId,
    DISCORD_API_URL: discord.restApi,
  });
  url = bot.url;
}, 90_000);

afterAll(async () => {
  await stopBotProcess(bot);
  await slack?.stop();
  await discord?.stop();
  await sim?.close();
  await db?.drop();
});

describe('npm start with the operator contract variables', () => {
  it('migrates a fresh database and reports ready', async () => {
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
  });

  it('serves /qm whoami', async () => {
    const r = await slack.command(url, 'whoami', 'UALICE');
    expect(r.status).toBe(200);
    expect(visibleText(r.reply)).toContain('alice@example.com');
  });

  it('serves /qm keys list from the Admin API it was pointed at', async () => {
    const r = await slack.command(url, 'keys list', 'UALICE');
    const text = visibleText(r.reply);
    expect(text).toContain(`of ${sim.state.apiKeys.length} keys`);
    expect(sim.requests.some((q) => q.path === '/v1/organizations/api_keys' && q.status === 200)).toBe(true);
  });

  it('connects to Discord and serves /qm whoami and /qm keys list there', async () => {
    expect(discord.identifies.length).toBeGreaterThan(0);
    const guild = discord.guildId;
    // The operator links the first Discord admin from the shell, as the README says.
    const linked = spawn(
      'node',
      ['bin/quartermaster.mjs', 'link', 'discord', guild, discord.users.alice.id, 'alice@example.com'],
      {
        cwd: root,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          DATABASE_URL: db.url,
          ANTHROPIC_ADMIN_KEY: ADMIN_KEY,
          ANTHROPIC_BASE_URL: sim.url,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    linked.stdout!.on('data', (b) => (out += b));
    linked.stderr!.on('data', (b) => (out += b));
    const code = await new Promise((r) => linked.on('close', r));
    expect(code, out).toBe(0);
    expect(out).toContain('to alice@example.com (org role admin)');

    const who = discord.sendCommand({ user: 'alice', subcommand: 'whoami' });
    expect(discordText(await discord.replyTo(who.id, 15_000))).toContain('alice@example.com');
    const keys = discord.sendCommand({ user: 'alice', group: 'keys', subcommand: 'list' });
    expect(discordText(await discord.replyTo(keys.id, 15_000))).toContain(`of ${sim.state.apiKeys.length} keys`);
  });

  it('prints JSON logs without any secret', () => {
    const lines = output()
      .split('\n')
      .filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    for (const secret of [ADMIN_KEY, SIGNING_SECRET, BOT_TOKEN, discord.token]) expect(output()).not.toContain(secret);
  });
});
