/**
 * Operator verbs while the bot runs on the same database: the bot is a separate process (`node
 * bin/quartermaster.mjs start`), and `link`, `migrate` and `jobs list` run beside it as the operator runs them.
 * On SQLite a third process keeps taking the write lock for short spells, as a busy bot does: the verbs must
 * wait their turn (busy timeout, WAL) instead of failing with "database is locked", and must not spawn
 * `prisma migrate deploy` when nothing is pending. The link is then visible to the running bot.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/anthropic/simulator/index.js';
import { FakeDiscord } from '../fakes/discord.js';
import { ADMIN_KEY } from '../support/app.js';
import { runCli, STACK_LINE } from '../support/cli.js';
import { createBareDatabaseUrl, testProvider } from '../support/db.js';
import { discordText } from '../support/discord-text.js';
import { type BotProcess, root, startBotProcess, stopBotProcess } from '../support/process.js';

let bot: BotProcess;
let sim: Simulator;
let discord: FakeDiscord;
let db: { url: string; drop(): Promise<void> };
let locker: ChildProcess | null = null;

/** Holds SQLite's write lock 300 ms at a time with 50 ms gaps, until killed: a bot in the middle of writes. */
const LOCKER = `
const Database = require('libsql');
const db = new Database(process.argv[1]);
db.prepare('PRAGMA busy_timeout = 10000').get();
const nap = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
process.stdout.write('locking\\n');
for (;;) { db.exec('BEGIN IMMEDIATE'); nap(300); db.exec('COMMIT'); nap(50); }
`;

const env = () => ({
  DATABASE_URL: db.url,
  ANTHROPIC_ADMIN_KEY: ADMIN_KEY,
  ANTHROPIC_BASE_URL: sim.url,
});

beforeAll(async () => {
  sim = await startSimulator({ adminKeys: [ADMIN_KEY] });
  discord = await new FakeDiscord().start();
  db = await createBareDatabaseUrl();
  bot = await startBotProcess(['node', 'bin/quartermaster.mjs', 'start'], {
    ...env(),
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.appId,
    DISCORD_API_URL: discord.restApi,
  });
  if (testProvider() === 'sqlite') {
    locker = spawn(process.execPath, ['-e', LOCKER, db.url.slice('file:'.length)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((resolve, reject) => {
      locker!.stdout!.once('data', resolve);
      locker!.once('exit', (code) => reject(new Error(`the lock holder exited (${code})`)));
    });
  }
}, 120_000);

afterAll(async () => {
  locker?.kill('SIGKILL');
  await stopBotProcess(bot);
  await discord?.stop();
  await sim?.close();
  await db?.drop();
});

describe('operator verbs beside the running bot', () => {
  it('link, migrate and jobs list finish and succeed; the bot then knows the linked user', async () => {
    const alice = discord.users.alice.id;
    const [linked, migrated, jobs] = await Promise.all([
      runCli(['link', 'discord', discord.guildId, alice, 'alice@example.com'], { env: env(), timeoutMs: 90_000 }),
      runCli(['migrate'], { env: env(), timeoutMs: 90_000 }),
      runCli(['jobs', 'list'], { env: env(), timeoutMs: 90_000 }),
    ]);
    expect(linked.code, linked.stdout + linked.stderr).toBe(0);
    expect(linked.stdout).toContain(`Linked discord user ${alice} in ${discord.guildId} to alice@example.com`);
    expect(linked.stderr).not.toMatch(STACK_LINE);
    // Nothing was pending, so no `prisma migrate deploy` ran (it would print its [prisma.mjs] lines).
    expect(migrated.code, migrated.stdout + migrated.stderr).toBe(0);
    expect(migrated.stdout.trim()).toBe('Database is up to date.');
    expect(jobs.code, jobs.stderr).toBe(0);
    expect(jobs.stdout).toContain('approvals.execute');

    const who = discord.sendCommand({ user: 'alice', subcommand: 'whoami' });
    expect(discordText(await discord.replyTo(who.id, 30_000))).toContain('alice@example.com');
    expect(bot.child.exitCode).toBeNull();
  }, 180_000);
});
