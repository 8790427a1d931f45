/**
 * `npx quartermaster doctor` as an operator runs it (a real process): the same configuration checks as `start`,
 * then the live ones against the local fakes (the Admin API simulator, the Slack and Discord fakes, the test
 * database). One ✓/✗ line per check; exit code 0 when all pass, 1 otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/anthropic/simulator/index.js';
import { FakeDiscord } from '../fakes/discord.js';
import { BOT_TOKEN, FakeSlack, SIGNING_SECRET } from '../fakes/slack.js';
import { ADMIN_KEY, writePolicy } from '../support/app.js';
import { createBareDatabaseUrl, createTestDatabaseUrl } from '../support/db.js';
import { runToExit } from '../support/process.js';

const DOCTOR = ['node', 'bin/quartermaster.mjs', 'doctor'];
const START = ['node', 'bin/quartermaster.mjs', 'start'];

let sim: Simulator;
let slack: FakeSlack;
let discord: FakeDiscord;
let db: { url: string; drop(): Promise<void> };

beforeAll(async () => {
  sim = await startSimulator({ adminKeys: [ADMIN_KEY] });
  slack = await new FakeSlack().start();
  discord = await new FakeDiscord().start();
  db = await createTestDatabaseUrl();
}, 60_000);

afterAll(async () => {
  await slack?.stop();
  await discord?.stop();
  await sim?.close();
  await db?.drop();
});

const admin = () => ({ DATABASE_URL: db.url, ANTHROPIC_ADMIN_KEY: ADMIN_KEY, ANTHROPIC_BASE_URL: sim.url });
const lines = (out: string) => out.split('\n').filter((l) => /^[✓✗] /.test(l));

describe('quartermaster doctor', () => {
  it('passes a valid OAuth-only Slack and Discord-HTTP-only set-up', async () => {
    const r = await runToExit(DOCTOR, {
      ...admin(),
      SLACK_CLIENT_ID: '123.456',
      SLACK_CLIENT_SECRET: 'client-secret-value',
      SLACK_STATE_SECRET: 'state-secret-value',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_ALLOWED_TEAMS: 'T0QM',
      DISCORD_PUBLIC_KEY: discord.publicKey,
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const found = lines(r.stdout);
    expect(
      found.every((l) => l.startsWith('✓')),
      found.join('\n'),
    ).toBe(true);
    expect(r.stdout).toContain('Slack over HTTP with the OAuth install');
    expect(r.stdout).toContain('Discord over the HTTP interactions endpoint only');
    expect(r.stdout).toContain('is reachable and migrated');
    expect(r.stdout).toContain(`accepts ANTHROPIC_ADMIN_KEY (organization "${sim.state.orgName}")`);
    for (const secret of [ADMIN_KEY, 'client-secret-value', SIGNING_SECRET]) expect(r.stdout).not.toContain(secret);
  }, 60_000);

  it('checks the Slack and Discord tokens live: accepted ones pass, refused ones are named and exit 1', async () => {
    const good = await runToExit(DOCTOR, {
      ...admin(),
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.appId,
      DISCORD_API_URL: discord.restApi,
    });
    expect(good.code, good.stdout + good.stderr).toBe(0);
    expect(good.stdout).toContain('✓ Slack accepted SLACK_BOT_TOKEN');
    expect(good.stdout).toContain('✓ Discord accepted DISCORD_TOKEN');

    const bad = await runToExit(DOCTOR, {
      ...admin(),
      SLACK_BOT_TOKEN: 'xoxb-wrong-token',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      DISCORD_TOKEN: 'wrong.discord.token',
      DISCORD_APPLICATION_ID: discord.appId,
      DISCORD_API_URL: discord.restApi,
    });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('✗ Slack rejected SLACK_BOT_TOKEN (invalid_auth)');
    expect(bad.stdout).toContain('✗ Discord rejected DISCORD_TOKEN (401)');
    expect(bad.stdout).not.toContain('xoxb-wrong-token');
  }, 60_000);

  it('refuses the policy file start refuses, with the same message', async () => {
    const policy = writePolicy('version: 1\nbogus: 1\n');
    const doctor = await runToExit(DOCTOR, { ...admin(), QM_POLICY: policy });
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toMatch(/^✗ The approval policy file .* has 1 problem/m);
    expect(doctor.stdout).toContain('unknown top-level key "bogus"');
    const start = await runToExit(START, { ...admin(), QM_POLICY: policy, HOST: '127.0.0.1', PORT: '0' });
    expect(start.code).toBe(78);
    expect(start.stderr).toContain('unknown top-level key "bogus"');
  }, 90_000);

  it('refuses what start refuses in the environment (an ordinary API key as the admin key)', async () => {
    const r = await runToExit(DOCTOR, { DATABASE_URL: db.url, ANTHROPIC_ADMIN_KEY: 'sk-ant-api03-not-an-admin-key' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('✗ ANTHROPIC_ADMIN_KEY must be an Anthropic admin key');
    expect(r.stdout).not.toContain('not-an-admin-key');
  }, 60_000);

  it('says the simulated organization is served when there is no admin key', async () => {
    const r = await runToExit(DOCTOR, { DATABASE_URL: db.url });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(
      '✓ Anthropic: no ANTHROPIC_ADMIN_KEY, so start serves the built-in simulated organization',
    );
  }, 60_000);

  it('reports a database without its migrations and the admin key the Admin API refuses', async () => {
    const bare = await createBareDatabaseUrl();
    try {
      const r = await runToExit(DOCTOR, {
        DATABASE_URL: bare.url,
        ANTHROPIC_ADMIN_KEY: `sk-ant-admin01-${'R3v0'.repeat(23)}x_AA`,
        ANTHROPIC_BASE_URL: sim.url,
      });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^✗ The database .* is reachable but \d+ migrations are not applied/m);
      expect(r.stdout).toContain("✗ The Anthropic Admin API rejected Quartermaster's admin key (401)");
    } finally {
      await bare.drop();
    }
  }, 60_000);

  it('names an unreachable database in one line, without the wrapping text of the database driver', async () => {
    const r = await runToExit(DOCTOR, { DATABASE_URL: 'postgresql://qm@127.0.0.1:1/qm' });
    expect(r.code).toBe(1);
    const line = lines(r.stdout).find((l) => l.includes('database'));
    expect(line).toMatch(/^✗ The database PostgreSQL on 127\.0\.0\.1:1 \(DATABASE_URL\) is not reachable: .+\.$/);
    expect(r.stdout).not.toContain('Invalid `prisma');
    expect(r.stdout).not.toContain('Raw query failed');
  }, 60_000);
});
