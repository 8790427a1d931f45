/**
 * `npx quartermaster <verb>`: the operator's command line (DESIGN.md operator contract).
 * Returns the process exit code; prints plain sentences, never a secret.
 *
 * Each verb loads only what it uses (dynamic imports): `scan` on a large file, `--help` and `--version` must not
 * wait for the database client, the chat SDKs or zod to load.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Platform } from '../core/ports/store.js';
import { parseCommandLine, UsageError } from './args.js';
import { runScan, SCAN_USAGE } from './scan.js';

async function printError(line: string): Promise<void> {
  (await import('./output.js')).printError(line);
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const USAGE = `Usage: npx quartermaster <command> [options]

  start                               migrate the database when needed and run the bot (same as npm start)
  migrate                             apply pending database migrations and exit
  simulator [--port N] [--host H]     run the simulated Anthropic Admin API
  manifest slack|discord [--write]    print (or write to manifest/) the Slack app manifest or Discord command JSON
  discord register [--guild ID]       register /qm with Discord (writes only when it changed)
  link PLATFORM TEAM_ID USER_ID EMAIL link a chat user to an org member (slack or discord)
  scan [--format F] [files…]          find Anthropic keys in files (or stdin); exit 1 when found
  digest --dry-run [--date D] [--format text|json] [--out FILE.png] [--tz ZONE]
                                      print the usage digest of a day (syncing the reports it needs)
  doctor                              check configuration, database and Admin API access
  jobs list                           list the scheduled jobs (name, interval, what each does)
  jobs run NAME                       run one scheduled job once, under its lease, and print its summary

  --help, -h                          print this (or, after a command, that command's) usage
  --version                           print the version

Configuration comes from the environment, and from ./.env when present (README, Configuration).`;

const START_USAGE = `Usage: npx quartermaster start

Runs the bot: applies pending database migrations, then serves HTTP on PORT (default 3000) and HOST
(default 0.0.0.0) until SIGTERM, SIGINT or SIGHUP, when it stops taking requests, finishes what runs and exits 0.
Set PORT, HOST and the other settings in the environment or in ./.env (README, Configuration).`;

const MIGRATE_USAGE = `Usage: npx quartermaster migrate

Applies the pending database migrations to DATABASE_URL and exits.`;

const MANIFEST_USAGE = `Usage: npx quartermaster manifest slack|discord [--write]

Prints the Slack app manifest or the Discord /qm command JSON; --write saves it under manifest/.`;

const LINK_USAGE = `Usage: npx quartermaster link PLATFORM TEAM_ID USER_ID EMAIL

Links a chat user to the Anthropic organization member with EMAIL (the operator's bootstrap of a first admin).
  slack:   TEAM_ID like T0123ABCD, USER_ID like U0123ABCD (or W…)
  discord: TEAM_ID is the server id, USER_ID the user id (17-20 digits each)
Example: npx quartermaster link slack T0123ABCD U0123ABCD alice@example.com`;

const DOCTOR_USAGE = `Usage: npx quartermaster doctor

Checks the configuration, the database and access to the Admin API and the chat platforms; exit 0 when all pass.`;

/** The usage of each verb, for `--help` after it and `help VERB` (those defined elsewhere are loaded when asked). */
const VERB_USAGE: Record<string, () => Promise<string>> = {
  start: async () => START_USAGE,
  migrate: async () => MIGRATE_USAGE,
  simulator: async () => (await import('../anthropic/simulator/cli.js')).SIMULATOR_USAGE,
  manifest: async () => MANIFEST_USAGE,
  discord: async () => (await import('../discord/cli.js')).DISCORD_REGISTER_USAGE,
  link: async () => LINK_USAGE,
  scan: async () => SCAN_USAGE,
  digest: async () => (await import('./digest.js')).DIGEST_USAGE,
  doctor: async () => DOCTOR_USAGE,
  jobs: async () => (await import('./jobs.js')).JOBS_USAGE,
};

function version(): string {
  return (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Prints a verb's usage for --help: nothing else happens. */
function help(usage: string): number {
  console.log(usage);
  return 0;
}

/**
 * Reads ./.env into process.env with Node's own loader when the file exists. Variables already set in the
 * environment win over the file.
 */
async function loadDotEnv(): Promise<void> {
  const file = path.resolve('.env');
  if (!existsSync(file)) return;
  try {
    process.loadEnvFile(file);
  } catch (err) {
    const { ConfigError } = await import('../config/load.js');
    throw new ConfigError([
      `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); fix it or remove it`,
    ]);
  }
}

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  try {
    if (verb === undefined) {
      await printError(USAGE);
      return 2;
    }
    if (verb === '--version' || verb === 'version') {
      parseCommandLine(rest, USAGE);
      console.log(version());
      return 0;
    }
    if (verb === '--help' || verb === '-h' || verb === 'help') {
      const [topic] = parseCommandLine(rest, USAGE, {}, { max: 1 }).positionals;
      if (topic === undefined) return help(USAGE);
      if (!Object.hasOwn(VERB_USAGE, topic)) throw new UsageError(`Unknown command "${topic}".`, USAGE);
      return help(await VERB_USAGE[topic]!());
    }
    if (!Object.hasOwn(VERB_USAGE, verb)) {
      throw new UsageError(verb.startsWith('-') ? `Unknown option ${verb}.` : `Unknown command "${verb}".`, USAGE);
    }
    await loadDotEnv();
    switch (verb) {
      case 'start': {
        if (parseCommandLine(rest, START_USAGE).help) return help(START_USAGE);
        return await start();
      }
      case 'migrate': {
        if (parseCommandLine(rest, MIGRATE_USAGE).help) return help(MIGRATE_USAGE);
        return await migrate();
      }
      case 'simulator': {
        const { runSimulatorCli, SIMULATOR_OPTIONS, SIMULATOR_USAGE } = await import('../anthropic/simulator/cli.js');
        if (parseCommandLine(rest, SIMULATOR_USAGE, SIMULATOR_OPTIONS).help) return help(SIMULATOR_USAGE);
        await runSimulatorCli(rest);
        return await new Promise<number>(() => {});
      }
      case 'manifest':
        return await manifest(rest);
      case 'discord': {
        const [sub, ...more] = rest;
        const { DISCORD_REGISTER_USAGE, runDiscordRegister } = await import('../discord/cli.js');
        if (sub === 'register') return await runDiscordRegister(more);
        if (parseCommandLine(rest, DISCORD_REGISTER_USAGE, {}, { max: 1 }).help) return help(DISCORD_REGISTER_USAGE);
        throw new UsageError(
          sub === undefined
            ? 'Missing command: use discord register.'
            : `Unknown discord command "${sub}": use register.`,
          DISCORD_REGISTER_USAGE,
        );
      }
      case 'link':
        return await link(rest);
      case 'digest':
        if (rest[0] === 'send') return await (await import('./digest-send.js')).runDigestSend(rest.slice(1));
        return await (await import('./digest.js')).runDigestCli(rest);
      case 'scan':
        return await runScan(rest);
      case 'doctor': {
        if (parseCommandLine(rest, DOCTOR_USAGE).help) return help(DOCTOR_USAGE);
        return await (await import('./doctor.js')).runDoctor();
      }
      default:
        return await (await import('./jobs.js')).runJobsCli(rest);
    }
  } catch (err) {
    return await failed(err);
  }
}

/** Prints what went wrong; returns the exit code. */
async function failed(err: unknown): Promise<number> {
  if (err instanceof UsageError) {
    await printError(err.text);
    return 2;
  }
  const [{ ConfigError }, { PolicyError }, { AdminApiError }, { describeAdminApiError }] = await Promise.all([
    import('../config/load.js'),
    import('../core/approvals/policy.js'),
    import('../core/ports/admin-api.js'),
    import('../core/admin-errors.js'),
  ]);
  if (err instanceof ConfigError || err instanceof PolicyError) {
    await printError(err.message);
    return 78;
  }
  if (err instanceof AdminApiError) {
    await printError(describeAdminApiError(err));
    return 1;
  }
  await printError(err instanceof Error ? err.message : String(err));
  return 1;
}

/** How long `start` may take to shut down after SIGTERM/SIGINT before it exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

/** The parent process id of pid (Linux /proc), or null where that cannot be read. */
function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function start(): Promise<number> {
  // Loaded here, not at the top: the other verbs (and --help) need none of the chat adapters.
  const [{ startQuartermaster }, { loadConfig }] = await Promise.all([
    import('../main.js'),
    import('../config/load.js'),
  ]);
  const qm = await startQuartermaster().catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRINUSE' || err.code === 'EACCES') {
      const config = loadConfig();
      throw new Error(
        `Quartermaster cannot listen on ${config.HOST}:${config.PORT} (${err.code === 'EADDRINUSE' ? 'the port is already in use' : 'permission denied'}). Set PORT (and HOST) to a free address.`,
      );
    }
    throw err;
  });
  // This process is what a supervisor (systemd, Docker, Kubernetes) signals: `npm start` does not reliably
  // pass signals on. Stop taking requests, let adapters, scheduler and store finish, exit 0; never hang.
  const stop = (signal: NodeJS.Signals) => {
    qm.logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      qm.logger.error({ signal }, `shutdown did not finish within ${SHUTDOWN_GRACE_MS / 1000} s; exiting anyway`);
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    qm.close().then(
      () => {
        qm.logger.info({}, 'stopped');
        process.exit(0);
      },
      (err) => {
        qm.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // The terminal that started it closed: stop the same way (the default would exit without flushing anything).
  process.once('SIGHUP', stop);
  // Under `npm start`, killing npm's process id does not reach this process (npm runs it through `sh -c`), which
  // would keep serving as an orphan. npm sets npm_lifecycle_event: then stop too once npm or the shell is gone.
  if (process.env.npm_lifecycle_event === 'start') {
    const parent = process.ppid;
    const launchers = [parent, parentOf(parent)].filter((pid): pid is number => pid !== null && pid > 1);
    setInterval(() => {
      if (process.ppid !== parent || !launchers.every(isAlive)) stop('SIGHUP');
    }, 1000).unref();
  }
  // After the signal handlers: a signal that arrives while this loads must already stop it cleanly.
  (await import('./heap.js')).settleHeapAfterStart();
  return await new Promise<number>(() => {});
}

async function migrate(): Promise<number> {
  const [{ loadConfig }, { migrateIfPending, openStore }, { printLine }] = await Promise.all([
    import('../config/load.js'),
    import('../store/index.js'),
    import('./output.js'),
  ]);
  const config = loadConfig();
  const store = await openStore(config.DATABASE_URL);
  try {
    const pending = await migrateIfPending(store, config.DATABASE_URL, (l) => printLine(l));
    printLine(
      pending.length
        ? `Applied ${pending.length} migration${pending.length === 1 ? '' : 's'}; the database is up to date.`
        : 'Database is up to date.',
    );
    return 0;
  } finally {
    await store.close();
  }
}

async function manifest(args: string[]): Promise<number> {
  const cl = parseCommandLine(
    args,
    MANIFEST_USAGE,
    { write: { type: 'boolean' } },
    { min: 1, max: 1, missing: 'Say which manifest: slack or discord.' },
  );
  if (cl.help) return help(MANIFEST_USAGE);
  const [kind] = cl.positionals;
  if (kind === 'discord') return await (await import('../discord/cli.js')).runManifestDiscord(cl.values.write === true);
  if (kind !== 'slack') throw new UsageError(`There is no manifest "${kind}": use slack or discord.`, MANIFEST_USAGE);
  const [{ commands }, { CommandRegistry }, { slackManifest }] = await Promise.all([
    import('../../commands/index.js'),
    import('../core/command/define.js'),
    import('../slack/manifest.js'),
  ]);
  const json = `${JSON.stringify(slackManifest(new CommandRegistry(commands)), null, 2)}\n`;
  if (cl.values.write) {
    const file = path.join(root, 'manifest', 'slack.json');
    writeFileSync(file, json);
    console.log(`Wrote ${path.relative(process.cwd(), file)}`);
  } else process.stdout.write(json);
  return 0;
}

async function link(args: string[]): Promise<number> {
  const cl = parseCommandLine(
    args,
    LINK_USAGE,
    {},
    { min: 4, max: 4, missing: 'link needs four arguments: PLATFORM TEAM_ID USER_ID EMAIL.' },
  );
  if (cl.help) return help(LINK_USAGE);
  const [platform, teamId, userId, email] = cl.positionals as [string, string, string, string];
  const { checkLinkArguments } = await import('./link-args.js');
  const wrong = checkLinkArguments(platform, teamId, userId, email);
  if (wrong) throw new UsageError(wrong, LINK_USAGE);
  const [{ loadConfig }, { migrateIfPending, openStore }, { createAdminApiClient }] = await Promise.all([
    import('../config/load.js'),
    import('../store/index.js'),
    import('../anthropic/client.js'),
  ]);
  const config = loadConfig();
  const store = await openStore(config.DATABASE_URL);
  await migrateIfPending(store, config.DATABASE_URL).catch(async (err) => {
    await store.close();
    throw err;
  });
  const simulator = config.ANTHROPIC_ADMIN_KEY ? null : await import('../anthropic/simulator/index.js');
  const sim =
    simulator && !config.ANTHROPIC_BASE_URL ? await simulator.startSimulator({ port: 0, host: '127.0.0.1' }) : null;
  try {
    // Without an admin key, the configuration allows only a simulator (in-process, or on loopback) and its demo key.
    const admin = createAdminApiClient({
      adminKey: config.ANTHROPIC_ADMIN_KEY ?? sim?.adminKey ?? simulator?.SIMULATOR_ADMIN_KEY ?? '',
      baseURL: sim?.url ?? config.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com',
    });
    const user = (await admin.listUsers({ email })).find((u) => u.email.toLowerCase() === email.toLowerCase());
    if (!user) {
      await printError(`No member of the Anthropic organization has the email ${email}. Invite them first.`);
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
