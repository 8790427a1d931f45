/**
 * Starts the real Quartermaster (startQuartermaster: Bolt, the Admin API client, Prisma) wired to local
 * protocol fakes: the Admin API simulator over HTTP, a fake Slack Web API, and an isolated test database.
 * Log lines are captured so tests can prove no secret is ever logged.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { type Simulator, startSimulator } from '../../src/anthropic/simulator/index.js';
import { type Quartermaster, startQuartermaster } from '../../src/main.js';
import { FakeDiscord } from '../fakes/discord.js';
import { BOT_TOKEN, FakeSlack, SIGNING_SECRET } from '../fakes/slack.js';
import { createTestDatabaseUrl } from './db.js';

/** Shaped exactly like a real admin key (110 characters), so redaction of the real shape is tested. */
export const ADMIN_KEY = `sk-ant-admin01-${'Q7mZ'.repeat(23)}x_AA`;

export interface TestApp {
  qm: Quartermaster;
  sim: Simulator;
  slack: FakeSlack;
  /** Present when started with `discord: true` (gateway + HTTP interactions endpoint). */
  discord: FakeDiscord | null;
  logs: string[];
  url: string;
  close(): Promise<void>;
}

/** A clock tests can move forward (expiry, reminders, time-boxed roles). */
export class TestClock {
  offsetMs = 0;
  now = (): Date => new Date(Date.now() + this.offsetMs);
  advance(ms: number): void {
    this.offsetMs += ms;
  }
  /** Moves the clock to an instant (it then runs on from there). */
  set(at: Date | string): void {
    this.offsetMs = new Date(at).getTime() - Date.now();
  }
}

/** Writes a policy file for one test file and returns its path (for QM_POLICY). */
export function writePolicy(yaml: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'qm-policy-'));
  const file = path.join(dir, 'quartermaster.yaml');
  writeFileSync(file, yaml);
  return file;
}

export async function startTestApp(
  o: {
    env?: Record<string, string>;
    discord?: boolean;
    clock?: TestClock;
    policy?: string;
    approvalLeaseMs?: number;
    /** The simulator's clock is `clock` too (its usage reports end at that instant), not the real time. */
    simulatorOnClock?: boolean;
  } = {},
): Promise<TestApp> {
  const db = await createTestDatabaseUrl();
  const sim = await startSimulator({
    port: 0,
    host: '127.0.0.1',
    adminKeys: [ADMIN_KEY],
    ...(o.simulatorOnClock && o.clock ? { now: o.clock.now } : {}),
  });
  const slack = await new FakeSlack().start();
  slack
    .addUser({ id: 'UALICE', name: 'alice', email: 'alice@example.com' })
    .addUser({ id: 'UBOB', name: 'bob', email: 'Bob@Example.com' })
    .addUser({ id: 'UCAROL', name: 'carol', email: 'carol@example.com' })
    .addUser({ id: 'UDAVE', name: 'dave', email: 'dave@example.com' })
    .addUser({ id: 'UGUEST', name: 'gina', email: 'gina@example.com', isRestricted: true })
    .addUser({ id: 'UEXT', name: 'xavier', email: 'xavier@partner.example', teamId: 'T0PARTNER', isStranger: true })
    .addUser({ id: 'UNOMAIL', name: 'nomail' })
    .addUser({ id: 'UZED', name: 'zed', email: 'zed@example.com' })
    .addUser({ id: 'UUNCONF', name: 'una', email: 'carol@example.com', emailConfirmed: false });
  const discord = o.discord ? await new FakeDiscord().start() : null;
  const discordEnv: Record<string, string> = discord
    ? {
        DISCORD_TOKEN: discord.token,
        DISCORD_APPLICATION_ID: discord.appId,
        DISCORD_API_URL: discord.restApi,
        DISCORD_PUBLIC_KEY: discord.publicKey,
      }
    : {};
  const logs: string[] = [];
  const logDestination = new Writable({
    write(chunk, _enc, cb) {
      logs.push(chunk.toString());
      cb();
    },
  });
  const qm = await startQuartermaster({
    env: {
      DATABASE_URL: db.url,
      ANTHROPIC_ADMIN_KEY: ADMIN_KEY,
      ANTHROPIC_BASE_URL: sim.url,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      ...discordEnv,
      ...(o.policy ? { QM_POLICY: writePolicy(o.policy) } : {}),
      ...o.env,
    },
    logDestination: logDestination as any,
    print: () => {},
    skipMigrate: true,
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.approvalLeaseMs ? { approvalLeaseMs: o.approvalLeaseMs } : {}),
    approvalBackoffMs: () => 100,
    // Tests drive the jobs themselves, deterministically.
    scheduler: false,
  });
  return {
    qm,
    sim,
    slack,
    discord,
    logs,
    url: qm.url,
    async close() {
      await qm.close();
      await discord?.stop();
      await sim.close();
      await slack.stop();
      await db.drop();
    },
  };
}

/**
 * The newest audit entry matching `where` (the reply can reach the chat platform a moment before its
 * audit entry is written, so this waits for it).
 */
export async function auditEntry(
  t: TestApp,
  where: (e: import('../../src/core/ports/store.js').AuditEntry) => boolean,
  ms = 3000,
): Promise<import('../../src/core/ports/store.js').AuditEntry> {
  const end = Date.now() + ms;
  for (;;) {
    const entry = (await t.qm.store.audit.list({ limit: 50 })).entries.find(where);
    if (entry) return entry;
    if (Date.now() > end) throw new Error('no matching audit entry was written');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Links a chat account to the org member with that email, as an operator would (`npx quartermaster link`). */
export async function linkChatUser(
  t: TestApp,
  platform: 'slack' | 'discord',
  teamId: string,
  userId: string,
  email: string,
): Promise<void> {
  const user = await t.qm.store.directory.findUserByEmail(email);
  if (!user) throw new Error(`no org member ${email} in the simulated organization`);
  const now = new Date();
  await t.qm.store.links.upsert({
    platform,
    teamId,
    userId,
    orgUserId: user.id,
    email: user.email,
    method: 'operator',
    linkedAt: now,
    refreshedAt: now,
  });
}
