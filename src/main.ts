/**
 * Composition root: config → logger → database → Admin API (real or simulated) → core services (buildCore) →
 * chat adapters → one HTTP listener. The only module that imports everything.
 */
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DestinationStream } from 'pino';
import { actions, commands } from '../commands/index.js';
import { type AdminApiRequestInfo, createAdminApiClient } from './anthropic/client.js';
import { createReportsApiClient } from './anthropic/reports.js';
import { SIMULATOR_ADMIN_KEY } from './anthropic/simulator/demo-key.js';
import type { Simulator } from './anthropic/simulator/index.js';
import { createSecretVerifier } from './anthropic/verify.js';
import { ConfigError, loadConfig, StartupConfigError } from './config/load.js';
import { loadPolicyFile } from './config/policy-file.js';
import { type Config, secretValues } from './config/schema.js';
import { describeAdminApiError } from './core/admin-errors.js';
import { ApprovalEngine } from './core/approvals/engine.js';
import { BUILT_IN_KINDS } from './core/approvals/kinds.js';
import type { Policy } from './core/approvals/policy.js';
import { ActionRegistry } from './core/command/actions.js';
import { CommandRegistry } from './core/command/define.js';
import { Dispatcher } from './core/command/dispatch.js';
import { DirectoryService } from './core/directory.js';
import { IdentityResolver } from './core/identity/resolve.js';
import { JOBS } from './core/jobs.js';
import { limitReenable, limitsReenableAction } from './core/limits/enforcement.js';
import { limitSet } from './core/limits/kind.js';
import { type AdminApi, AdminApiError, type Organization } from './core/ports/admin-api.js';
import { type CredentialCheck, networkReason } from './core/ports/credentials.js';
import { type Clock, type Logger, systemClock } from './core/ports/runtime.js';
import type { Store } from './core/ports/store.js';
import type { Services } from './core/services.js';
import type { DiscordGateway } from './discord/gateway.js';
import { Metrics } from './http/metrics.js';
import { Readiness } from './http/readiness.js';
import { createHttpServer, type Handler, json, listen } from './http/server.js';
import { mountWebhooks } from './http/webhooks.js';
import { installLastResort } from './log/last-resort.js';
import { createLogger } from './log/logger.js';
import { mountPlayground, PlaygroundClock } from './playground/http.js';
import { PlaygroundHub } from './playground/hub.js';
import { linkPlaygroundMembers, PLAYGROUND_TEAM } from './playground/members.js';
import { packageVersion, statusPage } from './playground/page.js';
import { FairQueue } from './runtime/fair-queue.js';
import { nodeHasher } from './runtime/hasher.js';
import { nodeCronSchedule } from './scheduler/cron.js';
import { startScheduler } from './scheduler/scheduler.js';
import type { SlackAdapter } from './slack/app.js';
import { migrateIfPending, openStore } from './store/index.js';

/**
 * Each chat platform's libraries load only when that platform is configured: discord.js alone takes about half a
 * second and 20 MB to load, which a Slack-only (or chat-less) deployment should not pay at every start.
 */
const slackModules = once(async () => {
  const [bolt, app, credentials, installations, notifier] = await Promise.all([
    import('@slack/bolt'),
    import('./slack/app.js'),
    import('./slack/credentials.js'),
    import('./slack/installation-store.js'),
    import('./slack/notifier.js'),
  ]);
  return {
    webApi: bolt.webApi,
    LogLevel: bolt.LogLevel,
    createSlackAdapter: app.createSlackAdapter,
    checkSlackBotToken: credentials.checkSlackBotToken,
    checkSlackAppToken: credentials.checkSlackAppToken,
    EncryptedInstallationStore: installations.EncryptedInstallationStore,
    slackNotifier: notifier.slackNotifier,
  };
});

const discordModules = once(async () => {
  const [discord, credentials, gateway, http, notifier] = await Promise.all([
    import('discord.js'),
    import('./discord/credentials.js'),
    import('./discord/gateway.js'),
    import('./discord/http.js'),
    import('./discord/notifier.js'),
  ]);
  return {
    REST: discord.REST,
    checkDiscordToken: credentials.checkDiscordToken,
    createDiscordGateway: gateway.createDiscordGateway,
    discordInteractionsEndpoint: http.discordInteractionsEndpoint,
    discordNotifier: notifier.discordNotifier,
  };
});

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | null = null;
  return () => {
    loaded ??= load().catch((err) => {
      loaded = null;
      throw err;
    });
    return loaded;
  };
}

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
  /** What `/readyz` reports besides the database (Slack, Discord, the admin key). */
  readiness: Readiness;
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
  /** Already loaded from QM_POLICY (see loadStartupConfiguration); loaded here otherwise. */
  policy?: Policy;
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
  /** The simulated organization's clock, which the playground moves forward; null otherwise. */
  playgroundClock: PlaygroundClock | null;
  close(): Promise<void>;
}

/**
 * config → policy → logger → migrate → store → Admin API client (or the in-process simulator when neither
 * ANTHROPIC_ADMIN_KEY nor ANTHROPIC_BASE_URL is set) → services, with notifiers that post and edit as the bot
 * from SLACK_BOT_TOKEN and DISCORD_TOKEN (so a job run from the shell still updates cards and sends DMs).
 */
/**
 * Where the Admin API is and which key it gets; null for the built-in simulated organization (neither variable
 * set). Without ANTHROPIC_ADMIN_KEY only a loopback ANTHROPIC_BASE_URL gets here (the configuration refuses any
 * other): a simulator on this machine, sent its public demo key. No key is ever made up for another host.
 */
export function adminApiTarget(config: Config): { baseURL: string; adminKey: string } | null {
  if (!config.ANTHROPIC_ADMIN_KEY && !config.ANTHROPIC_BASE_URL) return null;
  return {
    baseURL: config.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com',
    adminKey: config.ANTHROPIC_ADMIN_KEY ?? SIMULATOR_ADMIN_KEY,
  };
}

/** The configuration checks `start` and `doctor` share: the environment, then the policy file. */
export function loadStartupConfiguration(env: Record<string, string | undefined> = process.env): {
  config: Config;
  policy: Policy;
} {
  const config = loadConfig(env);
  return { config, policy: loadPolicyFile(config.QM_POLICY) };
}

export async function buildCore(config: Config, opts: CoreOptions = {}): Promise<Core> {
  const env = opts.env ?? process.env;
  const policy = opts.policy ?? loadPolicyFile(config.QM_POLICY);
  let clock = opts.clock ?? systemClock;
  let playgroundClock: PlaygroundClock | null = null;
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
    let target = adminApiTarget(config);
    if (!target) {
      const { startSimulator } = await import('./anthropic/simulator/index.js');
      // One clock for the bot and its simulated organization, so the playground can move both forward.
      const base = clock;
      playgroundClock = new PlaygroundClock(() => base.now());
      clock = playgroundClock;
      simulator = await startSimulator({ port: 0, host: '127.0.0.1', now: playgroundClock.now });
      cleanups.push(() => simulator!.close());
      target = { baseURL: simulator.url, adminKey: simulator.adminKey };
    } else if (!config.ANTHROPIC_ADMIN_KEY) {
      logger.info(
        { baseURL: target.baseURL },
        'ANTHROPIC_BASE_URL is a simulator on this machine and ANTHROPIC_ADMIN_KEY is not set; using the simulator demo key',
      );
    }
    const onRequest = (info: AdminApiRequestInfo) => {
      logger.debug(info, 'admin api request');
      opts.onAdminRequest?.(info);
    };
    const admin = createAdminApiClient({ ...target, onRequest });
    const reports = createReportsApiClient({ ...target, onRequest });

    const directory = new DirectoryService(admin, store, clock, logger);
    let org: Promise<Organization> | null = null;
    const services: Services = {
      admin,
      reports,
      store,
      directory,
      clock,
      logger,
      hasher: nodeHasher,
      secretVerifier: createSecretVerifier({ baseUrl: target.baseURL }),
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
      schedule: nodeCronSchedule(),
      // Loaded on first use: ECharts and resvg stay out of start-up.
      charts: { costChart: async (input) => (await import('./charts/cost-chart.js')).renderCostChart(input) },
      // Set just below: the engine works on these very services.
      approvals: undefined as unknown as ApprovalEngine,
    };
    services.approvals = new ApprovalEngine(services, [...BUILT_IN_KINDS, limitSet, limitReenable], {
      leaseMs: opts.approvalLeaseMs ?? leaseFromEnv(env),
      ...(opts.approvalBackoffMs ? { backoffMs: opts.approvalBackoffMs } : {}),
    });
    // Wait for kicked executions (they post to chat and write to the store) before anything closes.
    cleanups.push(() => services.approvals.idle());

    if (config.SLACK_BOT_TOKEN || config.SLACK_CLIENT_SECRET) {
      const { webApi, LogLevel, EncryptedInstallationStore, slackNotifier } = await slackModules();
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
      services.notifiers.slack = slackNotifier(client, installations && ((team) => installations.botTokenFor(team)), {
        logger,
        adminUserToken: config.SLACK_ADMIN_USER_TOKEN,
      });
    }
    if (config.DISCORD_TOKEN) {
      const { REST, discordNotifier } = await discordModules();
      const rest = new REST({ version: '10', api: config.DISCORD_API_URL }).setToken(config.DISCORD_TOKEN);
      services.notifiers.discord = discordNotifier(rest);
      cleanups.push(async () => {
        rest.clearHashSweeper();
        rest.clearHandlerSweeper();
      });
    }

    return { config, logger, store, admin, services, simulator, playgroundClock, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export async function startQuartermaster(opts: StartOptions = {}): Promise<Quartermaster> {
  const env = opts.env ?? process.env;
  const { config, policy } = loadStartupConfiguration(env);
  // stdout carries only JSON log lines; the plain-text guidance goes to stderr.
  const print = opts.print ?? ((line: string) => console.error(line));
  const metrics = new Metrics();
  const readiness = new Readiness();
  // Slack and Discord are asked about their tokens (and their libraries load) while the database opens; the
  // answers are looked at in the same order as before, after the Admin API check.
  const checking = checkChatCredentials(config);
  checking.catch(() => undefined);
  const core = await buildCore(config, {
    onAdminRequest: (info) => {
      metrics.adminRequest(info);
      reportAdminKeyHealth(readiness, info);
    },
    env,
    policy,
    logDestination: opts.logDestination,
    clock: opts.clock,
    approvalBackoffMs: opts.approvalBackoffMs,
    approvalLeaseMs: opts.approvalLeaseMs,
    skipMigrate: opts.skipMigrate,
  });
  const { logger, store, admin, services, simulator } = core;
  const life = new Lifetime(logger);
  life.onClose(() => core.close());
  life.onClose(installLastResort(logger, { flush: () => store.audit.flush() }));

  try {
    const dispatcher = createDispatcher(core, metrics);
    // Commands already acknowledged get their answers before the database closes (closing runs in reverse order),
    // within the CLI's 10 s grace period for a shutdown.
    life.onClose(() => within(dispatcher.idle(), 7_000).then(() => undefined));
    await syncDirectoryAtStart(core, life);
    // Every command resolves its caller's link: have the copy in memory before the first one arrives.
    await store.links.preload();
    const checks = await checking;
    const routes = new Map<string, Handler>();
    const ctx: ChatContext = { config, core, dispatcher, routes, readiness, life };
    const slack = await connectSlack(ctx, checks.slack, opts.slackAckTimeoutMs);
    const discord = await connectDiscord(ctx, checks.discord);
    await mountDiscordInteractions(ctx, discord?.gateway ?? null);
    mountWebhooks(routes, services, config);
    await mountHome(ctx);
    startBackgroundWork(services, logger, life, opts.scheduler !== false);
    const { url, port } = await serveHttp(
      config,
      { store, logger, routes, metrics, metricsToken: config.METRICS_TOKEN, readiness },
      life,
    );

    if ((config.DISCORD_TOKEN || config.DISCORD_PUBLIC_KEY) && !config.DISCORD_ALLOWED_GUILDS) {
      logger.warn(
        'DISCORD_ALLOWED_GUILDS is not set: anyone can add the bot to a Discord server of their own and send it commands (link requests included); set it to the ids of your servers.',
      );
    }
    logger.info(
      {
        url,
        slack: slack ? slack.mode : 'off',
        discord: discord ? 'gateway' : config.DISCORD_PUBLIC_KEY ? 'http' : 'off',
        simulated: simulator !== null,
        problems: readiness.list(),
      },
      'quartermaster started',
    );
    for (const line of guidance(config, url, slack, discord, simulator, readiness, services.policy)) print(line);

    return {
      config,
      url,
      port,
      logger,
      store,
      admin,
      services,
      dispatcher,
      get slack() {
        return slack?.adapter ?? null;
      },
      discord: discord?.gateway ?? null,
      simulator,
      readiness,
      close: () => life.close(),
    };
  } catch (err) {
    await life.close();
    throw err;
  }
}

/** Cleanups in reverse order, and a signal that stops the background retries. */
class Lifetime {
  private readonly cleanups: (() => Promise<void>)[] = [];
  private readonly aborter = new AbortController();
  readonly signal = this.aborter.signal;

  constructor(private readonly logger: Logger) {}

  onClose(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  async close(): Promise<void> {
    this.aborter.abort();
    for (const c of this.cleanups.reverse())
      await c().catch((err) => this.logger.warn({ err }, 'shutdown step failed'));
    this.cleanups.length = 0;
  }

  /**
   * Runs `attempt` after 1 s, 2 s, 4 s … (at most a minute apart) until it returns true or Quartermaster closes.
   * The timers do not keep the process alive.
   */
  retry(attempt: () => Promise<boolean>): void {
    void (async () => {
      for (let n = 0; !this.signal.aborted; n++) {
        try {
          await sleep(Math.min(60_000, 1000 * 2 ** n), undefined, { signal: this.signal, ref: false });
          if (await attempt()) return;
        } catch (err) {
          if (this.signal.aborted) return;
          this.logger.warn({ err }, 'background retry failed');
        }
      }
    })();
  }
}

interface ChatContext {
  config: Config;
  core: Core;
  dispatcher: Dispatcher;
  routes: Map<string, Handler>;
  readiness: Readiness;
  life: Lifetime;
}

function createDispatcher(core: Core, metrics: Metrics): Dispatcher {
  const { services, store, logger, admin } = core;
  return new Dispatcher({
    queue: new FairQueue(),
    observe: (e) => metrics.observe(e),
    registry: new CommandRegistry(commands),
    actions: new ActionRegistry([...actions, limitsReenableAction]),
    services,
    identity: new IdentityResolver(store, services.directory, admin, services.clock),
    store,
    clock: services.clock,
    logger,
  });
}

/**
 * The first Admin API call doubles as the check of ANTHROPIC_ADMIN_KEY: a refused key stops start-up; any other
 * failure (network, an outage) is logged and the next command retries. A stored copy of the directory that is
 * still fresh (a restart) is served while the sync runs in the background, so a large organization does not hold
 * up start-up; without one, start-up waits for the sync (permissions are computed from it).
 */
async function syncDirectoryAtStart(core: Core, life: Lifetime): Promise<void> {
  const { directory, organization, clock } = core.services;
  try {
    const last = await core.store.directory.lastSyncedAt();
    if (last && clock.now().getTime() - last.getTime() <= directory.maxAgeMs) {
      await organization();
      const background = directory.sync().then(
        () => undefined,
        (err) => core.logger.warn({ err }, 'background directory sync at start failed; the next command retries it'),
      );
      life.onClose(() => background);
      return;
    }
    await directory.sync();
  } catch (err) {
    if (err instanceof AdminApiError && err.kind === 'auth') {
      throw new StartupConfigError(
        `the Anthropic Admin API rejected ANTHROPIC_ADMIN_KEY (${err.status}): the key is wrong, revoked or not an admin key; create one in the Console under Settings → Admin keys.`,
      );
    }
    const reason = err instanceof AdminApiError ? describeAdminApiError(err) : networkReason(err);
    core.logger.warn(`Initial directory sync failed; commands retry it. ${reason}`);
  }
}

/**
 * `/readyz` reports a refused admin key until a request succeeds again: any 401 (a revoked key), and a 403 on a
 * read (a key that may not even list). A 403 on a change is the API refusing that one action, not a key problem.
 */
function reportAdminKeyHealth(readiness: Readiness, info: AdminApiRequestInfo): void {
  if (info.status === 401 || (info.status === 403 && info.method === 'GET')) {
    readiness.set(
      'anthropic',
      `The Anthropic Admin API rejected ANTHROPIC_ADMIN_KEY (${info.status}); check that it is an active admin key.`,
    );
  } else if (info.status !== null && info.status < 400) {
    readiness.set('anthropic', null);
  }
}

interface ChatChecks {
  slack: CredentialCheck & { botId?: string; botUserId?: string };
  discord: CredentialCheck | null;
}

/**
 * Asks Slack and Discord whether they accept the configured tokens, before anything is served. Refused tokens
 * stop start-up (each named); an unreachable service is reported and retried in the background.
 */
async function checkChatCredentials(config: Config): Promise<ChatChecks> {
  const [slack, discord] = await Promise.all([checkSlack(config), checkDiscord(config)]);
  const rejected = [slack, discord].filter((c) => c?.status === 'rejected').map((c) => c!.detail);
  if (rejected.length === 1) throw new StartupConfigError(rejected[0]!);
  if (rejected.length > 1) throw new ConfigError(rejected);
  return { slack, discord };
}

async function checkSlack(config: Config): Promise<ChatChecks['slack']> {
  if (!config.SLACK_BOT_TOKEN) return { status: 'ok', detail: 'No SLACK_BOT_TOKEN to check.' };
  const { checkSlackBotToken, checkSlackAppToken } = await slackModules();
  const [bot, app] = await Promise.all([
    checkSlackBotToken(config.SLACK_API_URL, config.SLACK_BOT_TOKEN),
    config.SLACK_APP_TOKEN ? checkSlackAppToken(config.SLACK_API_URL, config.SLACK_APP_TOKEN) : null,
  ]);
  if (app?.status === 'rejected' && bot.status !== 'rejected') return app;
  if (app?.status === 'unreachable' && bot.status === 'ok') return app;
  return bot;
}

async function checkDiscord(config: Config): Promise<CredentialCheck | null> {
  if (!config.DISCORD_TOKEN) return null;
  const { checkDiscordToken } = await discordModules();
  return checkDiscordToken(config.DISCORD_API_URL, config.DISCORD_TOKEN);
}

/** Slack as it stands: the adapter once the bot token was accepted, and why not while it is missing. */
interface SlackConnection {
  mode: 'http' | 'socket';
  adapter: SlackAdapter | null;
  oauth: boolean;
}

/**
 * Creates the Slack adapter and mounts its routes. While Slack cannot be reached, `POST /slack/events` answers
 * 503 (Slack retries), `/readyz` names the reason, and the check is retried in the background.
 */
async function connectSlack(
  ctx: ChatContext,
  check: ChatChecks['slack'],
  ackTimeoutMs: number | undefined,
): Promise<SlackConnection | null> {
  const { config, core, readiness, life, routes } = ctx;
  if (!config.SLACK_BOT_TOKEN && !config.SLACK_CLIENT_ID) return null;
  const logger = core.logger;
  const oauth =
    config.SLACK_CLIENT_ID && config.SLACK_CLIENT_SECRET && config.SLACK_STATE_SECRET
      ? {
          clientId: config.SLACK_CLIENT_ID,
          clientSecret: config.SLACK_CLIENT_SECRET,
          stateSecret: config.SLACK_STATE_SECRET,
          installations: core.store.slackInstallations,
          allowedTeams: config.SLACK_ALLOWED_TEAMS ?? null,
        }
      : undefined;
  const conn: SlackConnection = { mode: config.SLACK_APP_TOKEN ? 'socket' : 'http', adapter: null, oauth: !!oauth };
  // Until the adapter exists (Slack unreachable at start), Slack's deliveries are answered 503 and Slack retries.
  let events: Handler = (_req, res) => json(res, 503, { error: 'slack_unavailable' });
  if (!config.SLACK_APP_TOKEN) routes.set('POST /slack/events', (req, res) => events(req, res));

  const mount = async (ids: { botId?: string; botUserId?: string }): Promise<void> => {
    const { createSlackAdapter, slackNotifier } = await slackModules();
    const slack = createSlackAdapter({
      botToken: config.SLACK_BOT_TOKEN,
      ...ids,
      oauth,
      signingSecret: config.SLACK_SIGNING_SECRET,
      appToken: config.SLACK_APP_TOKEN,
      apiUrl: config.SLACK_API_URL,
      dispatcher: ctx.dispatcher,
      allowedTeams: config.SLACK_ALLOWED_TEAMS ?? null,
      logger,
      ackTimeoutMs,
    });
    core.services.notifiers.slack = slackNotifier(slack.app.client, slack.botTokenFor, {
      logger,
      adminUserToken: config.SLACK_ADMIN_USER_TOKEN,
    });
    conn.adapter = slack;
    if (slack.requestListener) {
      const listener = slack.requestListener;
      events = listener;
      for (const path of slack.oauthPaths) routes.set(`GET ${path}`, listener);
    }
    if (slack.mode === 'socket') await startSocketMode(ctx, slack);
  };

  if (check.status === 'ok') {
    await mount({ botId: check.botId, botUserId: check.botUserId });
    return conn;
  }
  // Unreachable (a refusal has stopped start-up already).
  readiness.set('slack', check.detail);
  logger.warn(`${check.detail} Retrying in the background; /readyz reports it until Slack answers.`);
  life.retry(async () => {
    const again = await checkSlack(config);
    if (again.status === 'ok') {
      readiness.set('slack', null);
      logger.info('Slack answered; the Slack adapter is up.');
      await mount({ botId: again.botId, botUserId: again.botUserId });
      return true;
    }
    readiness.set('slack', again.detail);
    if (again.status === 'rejected') {
      // Refused now that it answers: nothing to retry until the operator fixes the variable.
      logger.error(`${again.detail} Slack stays off until Quartermaster is restarted with a valid token.`);
      return true;
    }
    logger.warn(`${again.detail} Retrying.`);
    return false;
  });
  return conn;
}

/** Socket Mode: connect within 10 s or keep connecting in the background (Bolt's client retries on its own). */
async function startSocketMode(ctx: ChatContext, slack: SlackAdapter): Promise<void> {
  const { readiness, life } = ctx;
  const logger = ctx.core.logger;
  life.onClose(() => slack.stop());
  const connect = (): Promise<boolean> =>
    slack.start().then(
      () => {
        readiness.set('slack', null);
        return true;
      },
      (err) => {
        const detail = `Slack unreachable: Socket Mode could not connect (${networkReason(err)}).`;
        readiness.set('slack', detail);
        logger.warn(`${detail} Retrying.`);
        return false;
      },
    );
  readiness.set('slack', 'Slack: Socket Mode is connecting.');
  const first = connect();
  const settled = await within(first, 10_000);
  if (settled === false) life.retry(connect);
  else if (settled === undefined) {
    logger.warn('Slack Socket Mode not connected after 10 s; still connecting in the background.');
    void first.then((ok) => ok || life.retry(connect));
  }
}

interface DiscordConnection {
  gateway: DiscordGateway;
  /** The token was checked with Discord (false while Discord is unreachable). */
  verified: boolean;
}

/**
 * The gateway client exists at once (its REST client serves the HTTP interactions endpoint too); it logs in when
 * Discord has accepted DISCORD_TOKEN, within 10 s or in the background, and retries while Discord is unreachable.
 */
async function connectDiscord(ctx: ChatContext, check: CredentialCheck | null): Promise<DiscordConnection | null> {
  const { config, core, readiness, life } = ctx;
  if (!config.DISCORD_TOKEN || !check) return null;
  const logger = core.logger;
  const { createDiscordGateway, checkDiscordToken } = await discordModules();
  const gateway = createDiscordGateway({
    token: config.DISCORD_TOKEN,
    apiUrl: config.DISCORD_API_URL,
    dispatcher: ctx.dispatcher,
    logger,
    allowedGuilds: config.DISCORD_ALLOWED_GUILDS ?? null,
    scan: config.DISCORD_MESSAGE_CONTENT ? core.services : null,
  });
  life.onClose(() => gateway.stop());
  const conn: DiscordConnection = { gateway, verified: check.status === 'ok' };

  /** 'refused': the gateway rejected the token (close 4004), retrying cannot help. */
  const login = async (): Promise<'ready' | 'refused' | 'failed'> => {
    readiness.set('discord', readiness.get('discord') ?? 'Discord: the gateway is connecting.');
    try {
      await gateway.start();
      readiness.set('discord', null);
      return 'ready';
    } catch (err) {
      await gateway.stop().catch(() => undefined);
      const code = (err as { code?: string }).code;
      const refused = code === 'TokenInvalid' || code === 'DisallowedIntents';
      const detail =
        code === 'DisallowedIntents'
          ? 'Discord refused the Message Content intent (4014) that DISCORD_MESSAGE_CONTENT asks for: switch on Message Content Intent in the Developer Portal (Bot → Privileged Gateway Intents), or unset DISCORD_MESSAGE_CONTENT to run without scanning messages.'
          : refused
            ? 'Discord rejected DISCORD_TOKEN at the gateway (4004): the token is wrong or was reset; set it to the bot token from the Developer Portal (Bot → Reset Token).'
            : `Discord unreachable: the gateway could not connect (${networkReason(err)}).`;
      readiness.set('discord', detail);
      if (refused) logger.error(detail);
      else logger.warn(`${detail} Retrying.`);
      return refused ? 'refused' : 'failed';
    }
  };
  const retryLogin = () => life.retry(async () => (await login()) !== 'failed');

  if (check.status === 'ok') {
    const first = login();
    const settled = await within(first, 10_000);
    if (settled === 'refused') throw new StartupConfigError(readiness.get('discord')!);
    if (settled === 'failed') retryLogin();
    if (settled === undefined) {
      logger.warn('Discord gateway not ready after 10 s; still connecting in the background.');
      void first.then((outcome) => outcome === 'failed' && retryLogin());
    }
    return conn;
  }
  readiness.set('discord', check.detail);
  logger.warn(`${check.detail} Retrying in the background; /readyz reports it until Discord answers.`);
  life.retry(async () => {
    const again = await checkDiscordToken(config.DISCORD_API_URL, config.DISCORD_TOKEN!);
    readiness.set('discord', again.status === 'ok' ? null : again.detail);
    if (again.status === 'rejected') {
      logger.error(`${again.detail} Discord stays off until Quartermaster is restarted with a valid token.`);
      return true;
    }
    if (again.status === 'unreachable') return false;
    conn.verified = true;
    logger.info('Discord answered; connecting to the gateway.');
    if ((await login()) === 'failed') retryLogin();
    return true;
  });
  return conn;
}

/** The outcome of `p` if it settles within `ms`, else undefined (it keeps running). */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([p, sleep(ms, undefined, { ref: false })]);
}

async function mountDiscordInteractions(ctx: ChatContext, gateway: DiscordGateway | null): Promise<void> {
  const { config, routes, dispatcher } = ctx;
  if (!config.DISCORD_PUBLIC_KEY) return;
  const { REST, discordInteractionsEndpoint } = await discordModules();
  routes.set(
    'POST /discord/interactions',
    discordInteractionsEndpoint({
      dispatcher,
      logger: ctx.core.logger,
      rest: gateway?.client.rest ?? new REST({ version: '10', api: config.DISCORD_API_URL }),
      hasBotToken: Boolean(gateway),
      allowedGuilds: config.DISCORD_ALLOWED_GUILDS ?? null,
      publicKey: config.DISCORD_PUBLIC_KEY,
    }),
  );
}

/**
 * `/`: the playground with the built-in simulated organization (anyone may act as anyone there, so it exists only
 * then); a plain status page with a real organization, where the playground routes do not exist at all.
 */
async function mountHome(ctx: ChatContext): Promise<void> {
  const { core, routes, dispatcher, life, config } = ctx;
  if (core.simulator) {
    const hub = new PlaygroundHub(() => core.services.clock.now());
    core.services.notifiers.playground = hub.notifier();
    life.onClose(async () => hub.close());
    const linked = await linkPlaygroundMembers(core.services).catch((err) => {
      core.logger.warn({ err, team: PLAYGROUND_TEAM }, 'playground members could not be linked');
      return [];
    });
    core.logger.debug({ linked }, 'playground members linked');
    mountPlayground(routes, {
      dispatcher,
      services: core.services,
      hub,
      simulator: core.simulator,
      clock: core.playgroundClock,
    });
    return;
  }
  const page = statusPage({
    version: packageVersion(),
    adminApi: publicUrl(config.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com'),
    database: config.DATABASE_URL.startsWith('file:') ? 'SQLite' : 'PostgreSQL',
    slack:
      config.SLACK_BOT_TOKEN || config.SLACK_CLIENT_SECRET
        ? config.SLACK_APP_TOKEN
          ? 'Socket Mode'
          : `HTTP (/slack/events)`
        : 'not configured',
    discord: config.DISCORD_TOKEN ? 'gateway' : config.DISCORD_PUBLIC_KEY ? 'HTTP interactions' : 'not configured',
  });
  routes.set('GET /', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(page);
  });
}

/** A URL as the public status page may show it: no user, password, query or fragment (a proxy's token can be there). */
function publicUrl(url: string): string {
  if (!URL.canParse(url)) return 'configured';
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
}

/** Scheduled jobs, and the requests approved before a restart (or left mid-execution by a crash). */
function startBackgroundWork(services: Services, logger: Logger, life: Lifetime, scheduler: boolean): void {
  if (scheduler) {
    // The early first run of the report syncs is for the built-in simulated organization (someone trying the bot
    // sees usage at once). Against a real organization the first ingest waits for the job's interval: a large
    // organization's first 35 days are hundreds of thousands of rows, ingested on this process's event loop, and
    // the bot should be answering commands by then rather than competing with that.
    const jobs = services.settings.simulated ? JOBS : JOBS.map((j) => ({ ...j, firstAfterMs: undefined }));
    const running = startScheduler(jobs, services, logger);
    life.onClose(() => running.stop());
  }
  services.approvals.kick();
  life.onClose(() => services.approvals.idle());
}

/** Listens on HOST:PORT; a HOST that is no address of this machine is named in one sentence. */
async function serveHttp(
  config: Config,
  http: Parameters<typeof createHttpServer>[0],
  life: Lifetime,
): Promise<{ url: string; port: number }> {
  const server: Server = createHttpServer(http);
  const address = await listen(server, config.PORT, config.HOST).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' || err.code === 'EADDRNOTAVAIL') {
      throw new StartupConfigError(
        `HOST=${config.HOST} is not ${err.code === 'EADDRNOTAVAIL' ? 'an address of this machine' : 'a host name that resolves'}; set HOST to 0.0.0.0 (every interface), 127.0.0.1 (this machine only) or one of this machine's addresses.`,
      );
    }
    throw err;
  });
  life.onClose(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;
  return { url: `http://${host}:${address.port}`, port: address.port };
}

/** What the operator sees at start: what runs, what is still connecting (and why), and what to configure next. */
function guidance(
  config: Config,
  url: string,
  slack: SlackConnection | null,
  discord: DiscordConnection | null,
  simulator: Simulator | null,
  readiness: Readiness,
  policy: Policy,
): string[] {
  const lines = [`Quartermaster is running on ${url} (health: ${url}/healthz, readiness: ${url}/readyz).`];
  lines.push(`Database: ${config.DATABASE_URL.startsWith('file:') ? config.DATABASE_URL : 'PostgreSQL'}`);
  if (simulator) {
    lines.push(
      `Playground: ${url}/ (try every /qm command and approval in a browser, as any member of the simulated organization).`,
    );
    lines.push(
      `Anthropic: the built-in SIMULATED organization "${simulator.state.orgName}" (${simulator.state.summary()}) at ${simulator.url}. Set ANTHROPIC_ADMIN_KEY to manage your real organization.`,
    );
  } else {
    lines.push(`Anthropic: Admin API at ${config.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com'}.`);
  }
  const slackProblem = readiness.get('slack');
  if (slack && !slack.adapter) {
    lines.push(`Slack: not connected yet. ${slackProblem} Retrying in the background; /readyz reports it.`);
  } else if (slack) {
    if (slack.mode === 'socket') {
      lines.push(
        slackProblem
          ? `Slack: tokens accepted; Socket Mode is still connecting in the background (${slackProblem}).`
          : 'Slack: connected in Socket Mode.',
      );
    } else {
      lines.push(
        `Slack: HTTP mode. Point the app's Request URLs (slash command /qm and interactivity) at ${url}/slack/events (via your public HTTPS address).`,
      );
    }
    if (slack.oauth)
      lines.push(
        `Slack OAuth: workspaces install Quartermaster at ${url}/slack/install (via your public HTTPS address).`,
      );
  } else {
    lines.push(
      'Slack: not configured. Create the app from manifest/slack.json (npx quartermaster manifest slack), then set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode).',
    );
  }
  if (discord) {
    const user = discord.gateway.client.user;
    if (!discord.verified) {
      lines.push(
        `Discord: not connected yet. ${readiness.get('discord')} Retrying in the background; /readyz reports it.`,
      );
    } else if (discord.gateway.client.isReady() && user) {
      lines.push(
        `Discord: connected to the gateway as ${user.tag}. Register /qm with: npx quartermaster discord register`,
      );
    } else {
      lines.push(
        `Discord: DISCORD_TOKEN accepted; the gateway is still connecting in the background (${readiness.get('discord') ?? 'see /readyz'}).`,
      );
    }
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
  if (config.GITHUB_WEBHOOK_SECRET) {
    lines.push(
      `GitHub secret scanning: webhook at ${url}/webhooks/github (via your public HTTPS address; content type application/json, secret GITHUB_WEBHOOK_SECRET, events "Secret scanning alerts" and "Secret scanning alert locations").`,
    );
  }
  if (config.LEAK_WEBHOOK_TOKEN) {
    lines.push(
      `gitleaks / trufflehog reports: POST them to ${url}/webhooks/leaks with the header Authorization: Bearer <LEAK_WEBHOOK_TOKEN>.`,
    );
  }
  if (
    (config.GITHUB_WEBHOOK_SECRET || config.LEAK_WEBHOOK_TOKEN) &&
    !Object.values(policy.leakChannels).some(Boolean)
  ) {
    lines.push(
      'Leaks: set leaks.channels in the policy file: a leak reported by a webhook has no chat channel of its own to be posted in.',
    );
  }
  return lines;
}

/** QM_APPROVAL_LEASE_SECONDS (advanced): how long a crashed runner's execution stays claimed (default 60). */
function leaseFromEnv(env: Record<string, string | undefined>): number | undefined {
  const v = Number(env.QM_APPROVAL_LEASE_SECONDS);
  return Number.isFinite(v) && v > 0 ? v * 1000 : undefined;
}
