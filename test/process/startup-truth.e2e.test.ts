/**
 * Start-up tells the truth, checked from outside: `node bin/quartermaster.mjs start` as a real process for each
 * misconfiguration. Credentials a service refuses (the Slack fake answering invalid_auth, the Discord fake 401,
 * the Admin API simulator 401), a key that cannot be an admin key, a HOST that does not resolve: one sentence
 * naming the variable, exit code 78, no stack trace, and no "running" banner. A service that cannot be reached
 * (a closed loopback port): the process serves on, /healthz 200, /readyz 503 naming the service, stdout stays
 * JSON lines and the banner goes to stderr.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/anthropic/simulator/index.js';
import { FakeDiscord } from '../fakes/discord.js';
import { APP_TOKEN, BOT_TOKEN, FakeSlack, SIGNING_SECRET } from '../fakes/slack.js';
import { ADMIN_KEY } from '../support/app.js';
import { createTestDatabaseUrl } from '../support/db.js';
import {
  type BotProcess,
  type ExitedProcess,
  freePort,
  runToExit,
  startBotProcess,
  stopBotProcess,
} from '../support/process.js';

const START = ['node', 'bin/quartermaster.mjs', 'start'];

let sim: Simulator;
let slack: FakeSlack;
let discord: FakeDiscord;
let db: { url: string; drop(): Promise<void> };
/** A loopback port nothing listens on: connection refused. */
let closedUrl: string;

beforeAll(async () => {
  sim = await startSimulator({ adminKeys: [ADMIN_KEY] });
  slack = await new FakeSlack().start();
  discord = await new FakeDiscord().start();
  db = await createTestDatabaseUrl();
  closedUrl = `http://127.0.0.1:${await freePort()}`;
}, 60_000);

afterAll(async () => {
  await slack?.stop();
  await discord?.stop();
  await sim?.close();
  await db?.drop();
});

const base = () => ({
  DATABASE_URL: db.url,
  ANTHROPIC_ADMIN_KEY: ADMIN_KEY,
  ANTHROPIC_BASE_URL: sim.url,
  HOST: '127.0.0.1',
  PORT: '0',
});

const slackHttp = () => ({
  SLACK_BOT_TOKEN: BOT_TOKEN,
  SLACK_SIGNING_SECRET: SIGNING_SECRET,
  SLACK_API_URL: slack.apiUrl,
});

/** Exit 78, one sentence naming `variable` on stderr, no stack trace anywhere, never the "running" banner. */
function expectRefused(r: ExitedProcess, variable: string, secret?: string): void {
  const all = r.stdout + r.stderr;
  expect(r.code, all).toBe(78);
  expect(r.stderr).toContain(variable);
  expect(all).not.toMatch(/^\s+at /m);
  expect(all).not.toMatch(/WebAPIPlatformError|DiscordAPIError|Unhandled|ENOTFOUND\n/);
  expect(all).not.toContain('Quartermaster is running');
  if (secret) expect(all).not.toContain(secret);
  for (const line of r.stdout.split('\n').filter(Boolean)) expect(() => JSON.parse(line), line).not.toThrow();
}

describe('credentials the service refuses stop start-up with exit code 78', () => {
  it('a wrong SLACK_BOT_TOKEN (Slack answers invalid_auth to auth.test)', async () => {
    const wrong = 'xoxb-1111-2222-wrong-or-revoked-token';
    const r = await runToExit(START, { ...base(), ...slackHttp(), SLACK_BOT_TOKEN: wrong });
    expectRefused(r, 'SLACK_BOT_TOKEN', wrong);
    expect(r.stderr).toContain('Slack rejected SLACK_BOT_TOKEN (invalid_auth)');
  }, 60_000);

  it('a wrong SLACK_APP_TOKEN in Socket Mode (apps.connections.open answers invalid_auth)', async () => {
    const wrong = 'xapp-1-A0QM-wrong-app-level-token';
    const r = await runToExit(START, {
      ...base(),
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_APP_TOKEN: wrong,
      SLACK_API_URL: slack.apiUrl,
    });
    expectRefused(r, 'SLACK_APP_TOKEN', wrong);
    expect(r.stderr).toContain('Slack rejected SLACK_APP_TOKEN (invalid_auth)');
  }, 60_000);

  it('a wrong DISCORD_TOKEN (Discord answers 401 to /users/@me)', async () => {
    const wrong = 'MTQwMDAwMDAwMDAwMDAwMDAwMQ.GfAkE0.wrong-or-reset-bot-token';
    const r = await runToExit(START, {
      ...base(),
      DISCORD_TOKEN: wrong,
      DISCORD_APPLICATION_ID: discord.appId,
      DISCORD_API_URL: discord.restApi,
    });
    expectRefused(r, 'DISCORD_TOKEN', wrong);
    expect(r.stderr).toContain('Discord rejected DISCORD_TOKEN (401)');
    expect(r.stderr).not.toContain('connected to the gateway');
  }, 60_000);

  it('a DISCORD_TOKEN the gateway refuses (close 4004) after REST accepted it', async () => {
    discord.refuseIdentify = true;
    try {
      const r = await runToExit(START, {
        ...base(),
        DISCORD_TOKEN: discord.token,
        DISCORD_APPLICATION_ID: discord.appId,
        DISCORD_API_URL: discord.restApi,
      });
      expectRefused(r, 'Discord rejected DISCORD_TOKEN at the gateway (4004)', discord.token);
      expect(r.stderr).not.toContain('connected to the gateway');
    } finally {
      discord.refuseIdentify = false;
    }
  }, 60_000);

  it('an admin key the Admin API refuses (401)', async () => {
    const revoked = `sk-ant-admin01-${'R3v0'.repeat(23)}x_AA`;
    const r = await runToExit(START, { ...base(), ANTHROPIC_ADMIN_KEY: revoked });
    expectRefused(r, 'ANTHROPIC_ADMIN_KEY', revoked);
    expect(r.stderr).toContain('the Anthropic Admin API rejected ANTHROPIC_ADMIN_KEY (401)');
  }, 60_000);
});

describe('values that cannot work stop start-up with exit code 78', () => {
  it('an ordinary API key in ANTHROPIC_ADMIN_KEY, without echoing it', async () => {
    const apiKey = `sk-ant-api03-${'Vq3_mK8-xZ1pR7'.repeat(7).slice(0, 93)}AA`;
    const before = sim.requests.length;
    const r = await runToExit(START, { ...base(), ANTHROPIC_ADMIN_KEY: apiKey });
    expectRefused(r, 'ANTHROPIC_ADMIN_KEY must be an Anthropic admin key (sk-ant-admin01-…', apiKey);
    // Refused before any request: the key never left the machine.
    expect(sim.requests.length).toBe(before);
  }, 60_000);

  it('ANTHROPIC_BASE_URL at another machine without ANTHROPIC_ADMIN_KEY: no key is ever made up for it', async () => {
    const r = await runToExit(START, {
      DATABASE_URL: db.url,
      ANTHROPIC_BASE_URL: 'https://admin-proxy.example.com',
      HOST: '127.0.0.1',
      PORT: '0',
    });
    expectRefused(r, 'ANTHROPIC_ADMIN_KEY is required when ANTHROPIC_BASE_URL points at another machine');
  }, 60_000);

  it('HOST that does not resolve', async () => {
    const r = await runToExit(START, { ...base(), HOST: 'not.a.host' });
    expectRefused(r, 'HOST=not.a.host is not a host name that resolves');
  }, 60_000);
});

describe('a service that cannot be reached: Quartermaster serves on and says why it is not ready', () => {
  let bot: BotProcess | null = null;
  afterAll(() => stopBotProcess(bot));

  const readyz = async (url: string) => {
    const r = await fetch(`${url}/readyz`);
    return { status: r.status, body: (await r.json()) as { status: string; problems?: string[] } };
  };

  it('Slack over HTTP unreachable: /healthz 200, /readyz 503 naming Slack, the banner on stderr', async () => {
    bot = await startBotProcess(START, { ...base(), ...slackHttp(), SLACK_API_URL: `${closedUrl}/api/` });
    expect((await fetch(`${bot.url}/healthz`)).status).toBe(200);
    const ready = await readyz(bot.url);
    expect(ready.status).toBe(503);
    expect(ready.body.problems).toContainEqual(expect.stringMatching(/^Slack unreachable: connection refused/));
    // Slack's deliveries are refused with a status Slack retries, not dropped.
    expect((await fetch(`${bot.url}/slack/events`, { method: 'POST', body: '{}' })).status).toBe(503);
    // Still running a while later (retrying in the background), and stdout carries only JSON lines.
    await new Promise((r) => setTimeout(r, 1500));
    expect(bot.child.exitCode).toBeNull();
    expect((await fetch(`${bot.url}/healthz`)).status).toBe(200);
    const stdout = bot.stdout().split('\n').filter(Boolean);
    for (const line of stdout) expect(() => JSON.parse(line), line).not.toThrow();
    const warnings = stdout.map((l) => JSON.parse(l)).filter((l) => /^Slack unreachable/.test(l.msg));
    expect(warnings.length).toBeGreaterThan(0);
    expect(bot.stderr()).toContain('Quartermaster is running');
    expect(bot.stderr()).toContain('Slack: not connected yet. Slack unreachable: connection refused');
    expect(bot.output()).not.toMatch(/^\s+at /m);
    await stopBotProcess(bot);
    bot = null;
  }, 90_000);

  it('Slack Socket Mode unreachable: starts serving HTTP instead of hanging', async () => {
    bot = await startBotProcess(
      START,
      { ...base(), SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_APP_TOKEN: APP_TOKEN, SLACK_API_URL: `${closedUrl}/api/` },
      30_000,
    );
    expect((await fetch(`${bot.url}/healthz`)).status).toBe(200);
    const ready = await readyz(bot.url);
    expect(ready.status).toBe(503);
    expect(ready.body.problems).toContainEqual(expect.stringMatching(/^Slack unreachable/));
    expect(bot.output()).not.toMatch(/^\s+at /m);
    await stopBotProcess(bot);
    bot = null;
  }, 60_000);

  it('Discord unreachable: /readyz 503 naming Discord, and the banner does not claim a connection', async () => {
    bot = await startBotProcess(
      START,
      { ...base(), DISCORD_TOKEN: discord.token, DISCORD_APPLICATION_ID: discord.appId, DISCORD_API_URL: closedUrl },
      30_000,
    );
    expect((await fetch(`${bot.url}/healthz`)).status).toBe(200);
    const ready = await readyz(bot.url);
    expect(ready.status).toBe(503);
    expect(ready.body.problems).toContainEqual(expect.stringMatching(/^Discord unreachable: connection refused/));
    expect(bot.stderr()).not.toContain('connected to the gateway');
    expect(bot.output()).not.toMatch(/^\s+at /m);
    await stopBotProcess(bot);
    bot = null;
  }, 60_000);

  it('everything reachable and accepted: ready, and the banner says so after the checks', async () => {
    bot = await startBotProcess(
      START,
      {
        ...base(),
        ...slackHttp(),
        DISCORD_TOKEN: discord.token,
        DISCORD_APPLICATION_ID: discord.appId,
        DISCORD_API_URL: discord.restApi,
      },
      30_000,
    );
    const ready = await readyz(bot.url);
    expect(ready, JSON.stringify(ready.body)).toMatchObject({ status: 200 });
    expect(bot.stderr()).toContain('Discord: connected to the gateway as');
    for (const line of bot.stdout().split('\n').filter(Boolean)) expect(() => JSON.parse(line), line).not.toThrow();
  }, 60_000);
});
