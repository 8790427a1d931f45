/**
 * `npx quartermaster <verb>`: the operator's command line (DESIGN.md operator contract).
 * Returns the process exit code; prints plain sentences, never a secret.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { commands } from '../../commands/index.js';
import { createAdminApiClient } from '../anthropic/client.js';
import { runSimulatorCli } from '../anthropic/simulator/cli.js';
import { startSimulator } from '../anthropic/simulator/index.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { describeAdminApiError } from '../core/admin-errors.js';
import { PolicyError } from '../core/approvals/policy.js';
import { CommandRegistry } from '../core/command/define.js';
import { AdminApiError } from '../core/ports/admin-api.js';
import type { Platform } from '../core/ports/store.js';
import { DISCORD_REGISTER_USAGE, runDiscordRegister, runManifestDiscord } from '../discord/cli.js';
import { startQuartermaster } from '../main.js';
import { slackManifest } from '../slack/manifest.js';
import { migrateDatabase, openStore } from '../store/index.js';
import { runDoctor } from './doctor.js';
import { runJobsCli } from './jobs.js';
import { runScan } from './scan.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const USAGE = `Usage: npx quartermaster <command>

  start                               migrate the database and run the bot (same as npm start)
  migrate                             apply database migrations and exit
  simulator [--port N] [--host H]     run the simulated Anthropic Admin API
  manifest slack|discord [--write]    print (or write to manifest/) the Slack app manifest or Discord command JSON
  discord register [--guild ID]       register /qm with Discord (writes only when it changed)
  link PLATFORM TEAM_ID USER_ID EMAIL link a chat user to an org member (slack or discord)
  scan [files…]                       find Anthropic keys in files (or stdin): JSON findings, exit 1 when found
  doctor                              check configuration, database and Admin API access
  jobs list                           list the scheduled jobs (name, interval, what each does)
  jobs run NAME                       run one scheduled job once, under its lease, and print its summary
`;

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  try {
    switch (verb) {
      case 'start':
        return await start();
      case 'migrate': {
        const config = loadConfig();
        await migrateDatabase(config.DATABASE_URL, (l) => console.log(l));
        console.log('Database is up to date.');
        return 0;
      }
      case 'simulator':
        await runSimulatorCli(rest);
        return await new Promise<number>(() => {});
      case 'manifest':
        return rest[0] === 'discord' ? runManifestDiscord(rest.slice(1)) : manifest(rest);
      case 'discord':
        if (rest[0] === 'register') return await runDiscordRegister(rest.slice(1));
        console.error(DISCORD_REGISTER_USAGE);
        return 2;
      case 'link':
        return await link(rest);
      case 'digest':
        console.error('Usage digests are not available in this version of Quartermaster yet.');
        return 2;
      case 'scan':
        return await runScan(rest);
      case 'doctor':
        return await runDoctor();
      case 'jobs':
        return await runJobsCli(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return verb ? 0 : 2;
      default:
        console.error(`Unknown command "${verb}".\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof ConfigError || err instanceof PolicyError) {
      console.error(err.message);
      return 78;
    }
    if (err instanceof AdminApiError) {
      console.error(describeAdminApiError(err));
      return 1;
    }
    console.error(err instanceof Error ? err.message : String(err));
    return 1;
  }
}

async function start(): Promise<number> {
  const qm = await startQuartermaster().catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRINUSE' || err.code === 'EACCES') {
      const config = loadConfig();
      throw new Error(
        `Quartermaster cannot listen on ${config.HOST}:${config.PORT} (${err.code === 'EADDRINUSE' ? 'the port is already in use' : 'permission denied'}). Set PORT (and HOST) to a free address.`,
      );
    }
    throw err;
  });
  const stop = async (signal: string) => {
    qm.logger.info({ signal }, 'shutting down');
    await qm.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  return await new Promise<number>(() => {});
}

function manifest(args: string[]): number {
  const [kind, flag] = args;
  if (kind !== 'slack') {
    console.error(
      kind === 'discord'
        ? 'The Discord command manifest is not available yet.'
        : 'Usage: npx quartermaster manifest slack [--write]',
    );
    return 2;
  }
  const json = `${JSON.stringify(slackManifest(new CommandRegistry(commands)), null, 2)}\n`;
  if (flag === '--write') {
    const file = path.join(root, 'manifest', 'slack.json');
    writeFileSync(file, json);
    console.log(`Wrote ${path.relative(process.cwd(), file)}`);
  } else process.stdout.write(json);
  return 0;
}

async function link(args: string[]): Promise<number> {
  const [platform, teamId, userId, email] = args;
  if (!platform || !teamId || !userId || !email || (platform !== 'slack' && platform !== 'discord')) {
    console.error('Usage: npx quartermaster link slack|discord TEAM_ID USER_ID EMAIL');
    return 2;
  }
  if (!/^[^@\s]+@[^@\s]+$/.test(email)) {
    console.error(`"${email}" is not an email address.`);
    return 2;
  }
  const config = loadConfig();
  await migrateDatabase(config.DATABASE_URL);
  const store = await openStore(config.DATABASE_URL);
  const sim =
    config.ANTHROPIC_ADMIN_KEY || config.ANTHROPIC_BASE_URL
      ? null
      : await startSimulator({ port: 0, host: '127.0.0.1' });
  try {
    const admin = createAdminApiClient({
      adminKey: config.ANTHROPIC_ADMIN_KEY ?? sim?.adminKey ?? '',
      baseURL: sim?.url ?? config.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com',
    });
    const user = (await admin.listUsers({ email })).find((u) => u.email.toLowerCase() === email.toLowerCase());
    if (!user) {
      console.error(`No member of the Anthropic organization has the email ${email}. Invite them first.`);
      return 1;
    }
    await store.directory.upsertUsers([user]);
    const now = new Date();
    await store.links.upsert({
      platform: platform as Platform,
      teamId,
      userId,
      orgUserId: user.id,
      email: user.email,
      method: 'operator',
      linkedAt: now,
      refreshedAt: now,
    });
    await store.audit.append({
      platform: 'cli',
      teamId,
      actorId: 'cli',
      orgUserId: null,
      actorEmail: null,
      action: 'link',
      options: { platform, teamId, userId, email: user.email },
      outcome: 'allowed',
      stage: 'run',
      errorCode: null,
      message: `Linked ${platform} user ${userId} in ${teamId} to ${user.email} (${user.role})`,
      durationMs: 0,
    });
    console.log(`Linked ${platform} user ${userId} in ${teamId} to ${user.email} (org role ${user.role}).`);
    return 0;
  } finally {
    await store.close();
    await sim?.close();
  }
}
