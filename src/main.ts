/**
 * Composition root: config → logger → database → Admin API (real or simulated) → core services (buildCore) →
 * chat adapters → one HTTP listener. The only module that imports everything.
 */
import type { Server } from 'node:http';
import { LogLevel, webApi } from '@slack/bolt';
import { REST } from 'discord.js';
import type { DestinationStream } from 'pino';
import { actions, commands } from '../commands/index.js';
import { type AdminApiRequestInfo, createAdminApiClient } from './anthropic/client.js';
import { SIMULATOR_ADMIN_KEY, type Simulator, startSimulator } from './anthropic/simulator/index.js';
import { loadConfig } from './config/load.js';
import { loadPolicyFile } from './config/policy-file.js';
import { type Config, secretValues } from './config/schema.js';
import { ApprovalEngine } from './core/approvals/engine.js';
import { BUILT_IN_KINDS } from './core/approvals/kinds.js';
import { ActionRegistry } from './core/command/actions.js';
import { CommandRegistry } from './core/command/define.js';
import { Dispatcher } from './core/command/dispatch.js';
import { DirectoryService } from './core/directory.js';
import { IdentityResolver } from './core/identity/resolve.js';
import { JOBS } from './core/jobs.js';
import type { AdminApi, Organization } from './core/ports/admin-api.js';
import { type Clock, type Logger, systemClock } from './core/ports/runtime.js';
import type { Store } from './core/ports/store.js';
import type { Services } from './core/services.js';
import { createDiscordGateway, type DiscordGateway } from './discord/gateway.js';
import { discordInteractionsEndpoint } from './discord/http.js';
import { discordNotifier } from './discord/notifier.js';
import { Metrics } from './http/metrics.js';
import { createHttpServer, type Handler, listen } from './http/server.js';
import { installLastResort } from './log/last-resort.js';
import { createLogger } from './log/logger.js';
import { startScheduler } from './scheduler/scheduler.js';
import { createSlackAdapter, type SlackAdapter } from './slack/app.js';
import { EncryptedInstallationStore } from './slack/installation-store.js';
import { slackNotifier } from './slack/notifier.js';
import { migrateIfPending, openStore } from './store/index.js';

export interface StartOptions {
  env?: Record<string, string | undefined>;
  /** Where log lines go (tests capture them); stdout by default. */
  logDestination?: DestinationStream;
  /** Where the start-up guidance goes; console.log by default. */
  print?: (line: string) => void;
  clock?: Clock;
  /** Test-only: shorter Bolt ack deadline. */
  slackAckTimeoutMs?: number;
  /** Test-only: backoff before retry n of a failed execution. */
  approvalBackoffMs?: (attempt: number) => number;
  /** Run the scheduled jobs on their intervals (default true). */
  scheduler?: boolean;
  /** How long an execution lease lasts before another runner may take the work over (crash recovery). */
  approvalLeaseMs?: number;
  /** Skip `prisma migrate deploy` (tests hand in an already-migrated database). */
  skipMigrate?: boolean;
}

export interface Quartermaster {
  config: Config;
  url: string;
  port: number;
  logger: Logger;
  store: Store;
  admin: AdminApi;
  services: Services;
  dispatcher: Dispatcher;
  slack: SlackAdapter | null;
  discord: DiscordGateway | null;
  /** The in-process simulated organization, when no admin key is configured. */
  simulator: Simulator | null;
  close(): Promise<void>;
}

/** What `buildCore` needs beyond the configuration. */
export interface CoreOptions {
  /** Read for QM_APPROVAL_LEASE_SECONDS; process.env by default. */
  env?: Record<string, string | undefined>;
  /** Where log lines go; stdout by default. */
  logDestination?: DestinationStream;
  /** Overrides LOG_LEVEL (the CLI stays quiet unless LOG_LEVEL is set). */
  logLevel?: string;
  clock?: Clock;
  /** Backoff before retry n of a failed execution. */
  approvalBackoffMs?: (attempt: number) => number;
  /** How long an execution lease lasts before another runner may take the work over (crash recovery). */
  approvalLeaseMs?: number;
  /** Skip `prisma migrate deploy` (tests hand in an already-migrated database). */
  skipMigrate?: boolean;
  /** Called after every Admin API request (metrics). */
  onAdminRequest?: (info: AdminApiRequestInfo) => void;
}

/** The core services without any chat listener or HTTP port: what `startQuartermaster` and the CLI's jobs use. */
export interface Core {
  config: Config;
  logger: ReturnType<typeof createLogger>;
  store: Store;
  admin: AdminApi;
  services: Services;
  /** The in-process simulated organization, when no admin key is configured. */
  simulator: Simulator | null;
  close(): Promise<void>;
}

/**
 * config → policy → logger → migrate → store → Admin API client (or the in-process simulator when neither
 * ANTHROPIC_ADMIN_KEY nor ANTHROPIC_BASE_URL is set) → services, with notifiers that post and edit as the bot
 * from SLACK_BOT_TOKEN and DISCORD_TOKEN (so a job run from the shell still updates cards and sends DMs).
 */
export async function buildCore(config: Config, opts: CoreOptions = {}): Promise<Core> {
  const env = opts.env ?? process.env;
  const policy = loadPolicyFile(config.QM_POLICY);
  const clock = opts.clock ?? systemClock;
  const logger = createLogger({
    level: opts.logLevel ?? config.LOG_LEVEL,
    destination: opts.logDestination,
    secrets: secretValues(config),
  });
  const cleanups: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch((err) => logger.warn({ err }, 'shutdown step failed'));
    cleanups.length = 0;
  };

  try {
    const store = await openStore(config.DATABASE_URL);
    cleanups.push(() => store.close());
    if (!opts.skipMigrate) {
      await migrateIfPending(store, config.DATABASE_URL, (line) => logger.debug({ prisma: line }, 'migrate'));
    }

    let simulator: Simulator | null = null;
    let baseURL = config.ANTHROPIC_BASE_URL;
    let adminKey = config.ANTHROPIC_ADMIN_KEY;
    if (!adminKey && !baseURL) {
      simulator = await startSimulator({ port: 0, host: '127.0.0.1' });
      cleanups.push(() => simulator!.close());
      baseURL = simulator.url;
      adminKey = simulator.adminKey;
    } else if (!adminKey) {
      // An Admin API stand-in was named without a key: talk to it with the simulator's well-known demo key.
      logger.warn(
        { baseURL },
        'ANTHROPIC_BASE_URL is set but ANTHROPIC_ADMIN_KEY is not; using the simulator demo key',
      );
      adminKey = SIMULATOR_ADMIN_KEY;
    }
    const admin = createAdminApiClient({
      adminKey: adminKey!,
      baseURL: baseURL ?? 'https://api.anthropic.com',
      onRequest: (info) => {
        logger.debug(info, 'admin api request');
        opts.onAdminRequest?.(info);
      },
    });

    const directory = new DirectoryService(admin, store, clock, logger);
    let org: Promise<Organization> | null = null;
    const services: Services = {
      admin,
      store,
      directory,
      clock,
      logger,
      policy,
      organization: () => {
        org ??= admin.getOrganization().catch((err) => {
          org = null;
          throw err;
        });
        return org;
      },
      settings: { simulated: simulator !== null },
      notifiers: {},
      // Set just below: the engine works on these very services.
      approvals: undefined as unknown as ApprovalEngine,
    };
    services.approvals = new ApprovalEngine(services, BUILT_IN_KINDS, {
      leaseMs: opts.approvalLeaseMs ?? leaseFromEnv(env),
      ...(opts.approvalBackoffMs ? { backoffMs: opts.approvalBackoffMs } : {}),
    });
    // Wait for kicked executions (they post to chat and write to the store) before anything closes.
    cleanups.push(() => services.approvals.idle());

    if (config.SLACK_BOT_TOKEN || config.SLACK_CLIENT_SECRET) {
      const client = new webApi.WebClient(config.SLACK_BOT_TOKEN, {
        slackApiUrl: config.SLACK_API_URL,
        logLevel: LogLevel.ERROR,
      });
      // With the OAuth install, each workspace's messages go out with its own stored bot token.
      const installations = config.SLACK_CLIENT_SECRET
        ? new EncryptedInstallationStore(
            store.slackInstallations,
            config.SLACK_CLIENT_SECRET,
            logger,
            config.SLACK_ALLOWED_TEAMS ?? null,
          )
        : null;
      services.notifiers.slack = slackNotifier(client, installations && ((team) => installations.botTokenFor(team)));
    }
    if (config.DISCORD_TOKEN) {
      const rest = new REST({ version: '10', api: config.DISCORD_API_URL }).setToken(config.DISCORD_TOKEN);
      services.notifiers.discord = discordNotifier(rest);
      cleanups.push(async () => {
        rest.clearHashSweeper();
        rest.clearHandlerSweeper();
      });
    }

    return { config, logger, store, admin, services, simulator, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export async function startQuartermaster(opts: StartOptions = {}): Promise<Quartermaster> {
  const env = opts.env ?? process.env;
  const config = loadConfig(env);
  const print = opts.print ?? ((line: string) => console.log(line));
  const metrics = new Metrics();
  const core = await buildCore(config, {
    onAdminRequest: (info) => metrics.adminRequest(info),
    env,
    logDestination: opts.logDestination,
    clock: opts.clock,
    approvalBackoffMs: opts.approvalBackoffMs,
    approvalLeaseMs: opts.approvalLeaseMs,
    skipMigrate: opts.skipMigrate,
  });
  const { logger, store, admin, services, simulator } = core;
  const clock = services.clock;
  const directory = services.directory;
  const cleanups: (() => Promise<void>)[] = [() => core.close(), installLastResort(logger)];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch((err) => logger.warn({ err }, 'shutdown step failed'));
    cleanups.length = 0;
  };

  try {
    const registry = new CommandRegistry(commands);
    const identity = new IdentityResolver(store, directory, admin, clock);
    const dispatcher = new Dispatcher({
      observe: (e) => metrics.observe(e),
      registry,
      actions: new ActionRegistry(actions),
      services,
      identity,
      store,
      clock,
      logger,
    });

    try {
      await directory.sync();
    } catch (err) {
      // Stay up: commands explain the Admin API failure to whoever runs them, and the next one retries.
      logger.warn({ err }, 'initial directory sync failed; will retry on the next command');
    }

    const routes = new Map<string, Handler>();
    let slack: SlackAdapter | null = null;
    if (config.SLACK_BOT_TOKEN || config.SLACK_CLIENT_ID) {
      slack = createSlackAdapter({
        botToken: config.SLACK_BOT_TOKEN,
        oauth:
          config.SLACK_CLIENT_ID && config.SLACK_CLIENT_SECRET && config.SLACK_STATE_SECRET
            ? {
                clientId: config.SLACK_CLIENT_ID,
                clientSecret: config.SLACK_CLIENT_SECRET,
                stateSecret: config.SLACK_STATE_SECRET,
                installations: store.slackInstallations,
                allowedTeams: config.SLACK_ALLOWED_TEAMS ?? null,
              }
            : undefined,
        signingSecret: config.SLACK_SIGNING_SECRET,
        appToken: config.SLACK_APP_TOKEN,
        apiUrl: config.SLACK_API_URL,
        dispatcher,
        logger,
        ackTimeoutMs: opts.slackAckTimeoutMs,
      });
      if (slack.requestListener) routes.set('POST /slack/events', slack.requestListener);
      for (const path of slack.oauthPaths) routes.set(`GET ${path}`, slack.requestListener!);
      services.notifiers.slack = slackNotifier(slack.app.client, slack.botTokenFor);
      await slack.start();
      cleanups.push(() => slack!.stop());
    }

    let discord: DiscordGateway | null = null;
    if (config.DISCORD_TOKEN) {
      discord = createDiscordGateway({
        token: config.DISCORD_TOKEN,
        apiUrl: config.DISCORD_API_URL,
        dispatcher,
        logger,
        allowedGuilds: config.DISCORD_ALLOWED_GUILDS ?? null,
      });
      cleanups.push(() => discord!.stop());
      // Slack and the HTTP endpoints must not wait on Discord: give the gateway a few seconds to become ready,
      // then carry on (discord.js keeps reconnecting on its own); a rejected token is reported, not fatal.
      const gateway = discord;
      const started = gateway.start().then(
        () => true,
        (err) => {
          logger.error({ err }, 'Discord login failed; check DISCORD_TOKEN and DISCORD_API_URL');
          return false;
        },
      );
      const ready = await Promise.race([started, new Promise<null>((r) => setTimeout(() => r(null), 10_000).unref())]);
      if (ready === null) logger.warn('Discord gateway not ready after 10 s; still connecting in the background');
    }
    if (config.DISCORD_PUBLIC_KEY) {
      const rest = discord?.client.rest ?? new REST({ version: '10', api: config.DISCORD_API_URL });
      routes.set(
        'POST /discord/interactions',
        discordInteractionsEndpoint({
          dispatcher,
          logger,
          rest,
          hasBotToken: Boolean(discord),
          allowedGuilds: config.DISCORD_ALLOWED_GUILDS ?? null,
          publicKey: config.DISCORD_PUBLIC_KEY,
        }),
      );
    }

    if (opts.scheduler !== false) {
      const scheduler = startScheduler(JOBS, services, logger);
      cleanups.push(() => scheduler.stop());
    }
    // Requests approved before a restart (or left mid-execution by a crash) are picked up now.
    services.approvals.kick();
    cleanups.push(() => services.approvals.idle());

    const server: Server = createHttpServer({ store, logger, routes, metrics, metricsToken: config.METRICS_TOKEN });
    const address = await listen(server, config.PORT, config.HOST);
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;
    const url = `http://${host}:${address.port}`;
    logger.info(
      {
        url,
        slack: slack?.mode ?? 'off',
        discord: discord ? 'gateway' : config.DISCORD_PUBLIC_KEY ? 'http' : 'off',
        simulated: simulator !== null,
      },
      'quartermaster started',
    );
    for (const line of guidance(config, url, slack, discord, simulator)) print(line);

    return {
      config,
      url,
      port: address.port,
      logger,
      store,
      admin,
      services,
      dispatcher,
      slack,
      discord,
      simulator,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** What the operator sees at start: what runs, and what to configure next. */
function guidance(
  config: Config,
  url: string,
  slack: SlackAdapter | null,
  discord: DiscordGateway | null,
  simulator: Simulator | null,
): string[] {
  const lines = [`Quartermaster is running on ${url} (health: ${url}/healthz, readiness: ${url}/readyz).`];
  lines.push(`Database: ${config.DATABASE_URL.startsWith('file:') ? config.DATABASE_URL : 'PostgreSQL'}`);
  if (simulator) {
    lines.push(
      `Anthropic: the built-in SIMULATED organization (${simulator.url}). Set ANTHROPIC_ADMIN_KEY to manage your real organization.`,
    );
  } else {
    lines.push(`Anthropic: Admin API at ${config.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com'}.`);
  }
  if (slack) {
    lines.push(
      slack.mode === 'socket'
        ? 'Slack: connected in Socket Mode.'
        : `Slack: HTTP mode. Point the app's Request URLs (slash command /qm and interactivity) at ${url}/slack/events (via your public HTTPS address).`,
    );
    if (slack.oauthPaths.length)
      lines.push(
        `Slack OAuth: workspaces install Quartermaster at ${url}/slack/install (via your public HTTPS address).`,
      );
  } else {
    lines.push(
      'Slack: not configured. Create the app from manifest/slack.json (npx quartermaster manifest slack), then set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode).',
    );
  }
  if (discord) {
    lines.push(
      `Discord: connected to the gateway as ${discord.client.user?.tag ?? 'the bot'}. Register /qm with: npx quartermaster discord register`,
    );
  }
  if (config.DISCORD_PUBLIC_KEY) {
    lines.push(
      `Discord: HTTP interactions endpoint at ${url}/discord/interactions (set it as the Interactions Endpoint URL).`,
    );
    if (!discord) {
      lines.push(
        'Discord: without DISCORD_TOKEN, cards are edited only through interactions (a click, and what follows it within 15 minutes); expiry updates and DMs to requesters need the bot token.',
      );
    }
  }
  if (!discord && !config.DISCORD_PUBLIC_KEY) {
    lines.push(
      'Discord: not configured. Set DISCORD_TOKEN and DISCORD_APPLICATION_ID to connect, then run: npx quartermaster discord register',
    );
  }
  return lines;
}

/** QM_APPROVAL_LEASE_SECONDS (advanced): how long a crashed runner's execution stays claimed (default 60). */
function leaseFromEnv(env: Record<string, string | undefined>): number | undefined {
  const v = Number(env.QM_APPROVAL_LEASE_SECONDS);
  return Number.isFinite(v) && v > 0 ? v * 1000 : undefined;
}
