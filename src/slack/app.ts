/**
 * The Slack adapter: verify (Bolt checks the v0 signature and the 5-minute window), acknowledge at once,
 * then dispatch the one `/qm` command and answer through the response_url (ephemeral unless the reply
 * says otherwise); message events are scanned for leaked keys (./scan.ts). HTTP mode shares Quartermaster's port; Socket Mode is used when SLACK_APP_TOKEN is set.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { App, type Logger as BoltLogger, HTTPReceiver, LogLevel } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Dispatcher } from '../core/command/dispatch.js';
import { postedNotice, type Reply } from '../core/command/reply.js';
import { DomainError } from '../core/errors.js';
import type { ChatDirectory, ChatProfile, Logger } from '../core/ports/runtime.js';
import { MAX_BODY_BYTES } from '../http/server.js';
import { EncryptedInstallationStore, type SlackInstallations } from './installation-store.js';
import { SLACK_BOT_SCOPES, SLASH_COMMAND } from './manifest.js';
import { renderSlack } from './render.js';
import { ResponseUrlClient } from './response-url.js';
import { scanMessages } from './scan.js';

export { SLASH_COMMAND };

/** Where the OAuth install flow lives (DESIGN.md operator contract), served by the receiver in HTTP mode. */
export const SLACK_INSTALL_PATH = '/slack/install';
export const SLACK_REDIRECT_PATH = '/slack/oauth_redirect';

export interface SlackOAuthOptions {
  clientId: string;
  clientSecret: string;
  stateSecret: string;
  /** Where installations are kept (encrypted by the adapter before they reach the store). */
  installations: SlackInstallations;
  /** SLACK_ALLOWED_TEAMS: a list of team/enterprise ids, or `*` for any workspace. */
  allowedTeams?: readonly string[] | '*' | null;
}

export interface SlackAdapterOptions {
  /** One workspace: its bot token. Absent when `oauth` is set (each installed workspace has its own). */
  botToken?: string;
  /** From the start-up auth.test of `botToken`: Bolt then skips its own (whose failure nobody could catch). */
  botId?: string;
  botUserId?: string;
  /** Multi-workspace OAuth install (HTTP mode only): `GET /slack/install` and `GET /slack/oauth_redirect`. */
  oauth?: SlackOAuthOptions;
  signingSecret?: string;
  appToken?: string;
  apiUrl: string;
  dispatcher: Dispatcher;
  logger: Logger;
  /**
   * SLACK_ALLOWED_TEAMS, in every mode: a list of team (T…) or Enterprise Grid (E…) ids, or `*` (or unset) for
   * any workspace. Commands and button clicks from elsewhere are refused, events ignored.
   */
  allowedTeams?: readonly string[] | '*' | null;
  /** Test-only: Bolt answers 404 when a listener has not acked by then (default 3001 ms, Slack's limit). */
  ackTimeoutMs?: number;
}

export interface SlackAdapter {
  app: App;
  mode: 'http' | 'socket';
  /** Node request listener for `/slack/events` (and the OAuth paths) in HTTP mode; null in Socket Mode. */
  requestListener: ((req: IncomingMessage, res: ServerResponse) => void) | null;
  /** With OAuth: the install and redirect paths to route to `requestListener` (`GET`); empty otherwise. */
  oauthPaths: string[];
  /** The bot token of a workspace, for messages outside any interaction; null with a single bot token. */
  botTokenFor: ((teamId: string) => Promise<string>) | null;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createSlackAdapter(o: SlackAdapterOptions): SlackAdapter {
  const logger = o.logger.child({ adapter: 'slack' });
  const socket = Boolean(o.appToken);
  if (socket && o.oauth) throw new Error('the Slack OAuth install needs HTTP mode (unset SLACK_APP_TOKEN)');
  const clientOptions = { slackApiUrl: o.apiUrl };
  const installationStore = o.oauth
    ? new EncryptedInstallationStore(o.oauth.installations, o.oauth.clientSecret, logger, o.oauth.allowedTeams ?? null)
    : undefined;
  const receiver = socket
    ? undefined
    : new HTTPReceiver({
        signingSecret: o.signingSecret!,
        endpoints: '/slack/events',
        logger: boltLogger(logger),
        unhandledRequestTimeoutMillis: o.ackTimeoutMs ?? 3001,
        // Refuse (413) bodies over the listener's limit while reading them, as /discord/interactions does.
        bodyLimit: MAX_BODY_BYTES,
        ...(o.oauth && {
          clientId: o.oauth.clientId,
          clientSecret: o.oauth.clientSecret,
          stateSecret: o.oauth.stateSecret,
          scopes: [...SLACK_BOT_SCOPES],
          installationStore,
          installerOptions: {
            installPath: SLACK_INSTALL_PATH,
            redirectUriPath: SLACK_REDIRECT_PATH,
            // Show the "Add to Slack" page rather than redirecting straight to Slack.
            directInstall: false,
            // App copies clientOptions into the installer only for the receiver it builds itself; this receiver is
            // ours, so oauth.v2.access and the auth.test after it are pointed at SLACK_API_URL here.
            clientOptions,
            callbackOptions: { failure: installFailure(logger) },
          },
        }),
      });
  const app = new App({
    // With OAuth, Bolt's authorize fetches each request's workspace installation (and its bot token) instead.
    ...(o.oauth ? {} : { token: o.botToken, botId: o.botId, botUserId: o.botUserId }),
    ...(socket ? { appToken: o.appToken, socketMode: true } : { receiver }),
    logger: boltLogger(logger),
    logLevel: LogLevel.WARN,
    clientOptions,
    // Bolt's conversation store (context.conversation) is not used; it costs a look-up on every request.
    convoStore: false,
  });

  const allowed = o.allowedTeams ?? o.oauth?.allowedTeams ?? null;
  if (allowed && allowed !== '*') {
    // Global middleware: runs before every listener, in HTTP and Socket Mode alike, with and without OAuth.
    app.use(async ({ body, next, ...rest }) => {
      const args = rest as { ack?: unknown; respond?: unknown };
      const from = slackOrigin(body as SlackBody);
      if (from.every((ids) => ids.some((id) => id !== undefined && allowed.includes(id)))) return next();
      logger.warn(
        { type: (body as SlackBody).type ?? 'slash_command', teams: from.flat().filter(Boolean) },
        'slack request refused: workspace not in SLACK_ALLOWED_TEAMS',
      );
      // Commands and clicks are acknowledged and told; events (already acknowledged by Bolt) are dropped.
      if (typeof args.ack === 'function') await (args.ack as () => Promise<void>)();
      if (typeof args.respond === 'function') {
        await (args.respond as (m: unknown) => Promise<unknown>)({
          response_type: 'ephemeral',
          replace_original: false,
          text: NOT_ALLOWED,
        }).catch((err: unknown) => logger.warn({ err }, 'could not answer a refused Slack request'));
      }
    });
  }

  if (installationStore) {
    // An uninstalled workspace (or one whose bot token was revoked) must not keep a stored token around.
    const forget = async (body: {
      team_id?: string;
      enterprise_id?: string;
      authorizations?: { is_enterprise_install?: boolean }[];
    }) => {
      const isEnterpriseInstall = Boolean(body.authorizations?.[0]?.is_enterprise_install);
      await installationStore.deleteInstallation({
        teamId: body.team_id,
        enterpriseId: body.enterprise_id,
        isEnterpriseInstall,
      });
      logger.info(
        { team: body.team_id, enterprise: body.enterprise_id },
        'slack app uninstalled; installation deleted',
      );
    };
    app.event('app_uninstalled', async ({ body }) => forget(body));
    app.event('tokens_revoked', async ({ body, event }) => {
      if (event.tokens.bot?.length) await forget(body);
    });
  }

  // Messages (new, edited, thread replies, snippets) scanned for leaked keys, off the acknowledgement (issue 11).
  scanMessages(app, { dispatcher: o.dispatcher, logger });

  // Answers on response_urls (see response-url.ts for why not Bolt's respond()).
  const responseUrls = new ResponseUrlClient();

  app.command(SLASH_COMMAND, async ({ command, ack, client }) => {
    // Acknowledge first: Slack shows an error if it hears nothing within 3 seconds.
    await ack();
    const respond = (message: object) => responseUrls.post(command.response_url, message);
    await o.dispatcher.dispatch({
      platform: 'slack',
      teamId: command.team_id,
      userId: command.user_id,
      channelId: command.channel_id,
      prefix: SLASH_COMMAND,
      input: { kind: 'text', text: command.text ?? '' },
      chat: slackDirectory(client),
      // A reply's files (Reply.files) are not sent here: a response_url answer cannot carry files, so the reply
      // shows its text, which is complete without them. Files reach Slack through the notifier (posts and DMs).
      deliver: async (reply: Reply) => {
        const msg = renderSlack(reply);
        if (reply.visibility === 'in_channel' && reply.track) {
          // A card that will be edited later needs its channel and ts, which only chat.postMessage returns.
          try {
            const posted = await client.chat.postMessage({ channel: command.channel_id, ...msg });
            await respond({ response_type: 'ephemeral', ...renderSlack(postedNotice(reply)) });
            if (posted.ts && posted.channel) return { channelId: posted.channel, messageId: posted.ts };
          } catch (err) {
            logger.warn(
              { err, channel: command.channel_id },
              'could not post the card as the bot; answering in the channel instead',
            );
          }
        }
        await respond({ response_type: reply.visibility === 'in_channel' ? 'in_channel' : 'ephemeral', ...msg });
      },
    });
  });

  // Every Quartermaster button's action_id is an opaque action token (qm_…); its meaning is looked up server-side.
  app.action(/^qm_/, async ({ ack, body, action, client, respond: boltRespond }) => {
    await ack();
    if (body.type !== 'block_actions' || !('action_id' in action)) return;
    const respond = (message: object) =>
      body.response_url ? responseUrls.post(body.response_url, message) : boltRespond(message);
    const channelId = body.channel?.id ?? body.container?.channel_id ?? null;
    const ts = body.message?.ts ?? body.container?.message_ts ?? null;
    await o.dispatcher.dispatchAction({
      platform: 'slack',
      teamId: body.team?.id ?? body.user.team_id ?? '',
      userId: body.user.id,
      channelId,
      actionId: action.action_id,
      messageId: ts,
      chat: slackDirectory(client),
      updateCard: async (reply) => {
        const msg = renderSlack(reply);
        if (channelId && ts && !body.container?.is_ephemeral)
          await client.chat.update({ channel: channelId, ts, ...msg });
        else await respond({ replace_original: true, ...msg });
      },
      notify: async (reply) => {
        await respond({ response_type: 'ephemeral', replace_original: false, ...renderSlack(reply) });
      },
    });
  });

  app.error(async (error) => {
    logger.error({ err: error }, 'slack listener failed');
  });

  return {
    app,
    mode: socket ? 'socket' : 'http',
    requestListener: receiver ? receiver.requestListener : null,
    oauthPaths: o.oauth ? [SLACK_INSTALL_PATH, SLACK_REDIRECT_PATH] : [],
    botTokenFor: installationStore ? (teamId) => installationStore.botTokenFor(teamId) : null,
    async start() {
      if (socket) await app.start();
    },
    async stop() {
      if (socket) await app.stop();
      responseUrls.close();
    },
  };
}

export const NOT_ALLOWED = 'This Quartermaster serves only its own Slack workspaces; nothing was run.';

interface SlackBody {
  type?: string;
  team_id?: string;
  enterprise_id?: string;
  user_team?: string;
  user_enterprise?: string;
  team?: { id?: string } | null;
  enterprise?: { id?: string } | null;
  user?: { team_id?: string; enterprise_id?: string };
  authorizations?: { team_id?: string | null; enterprise_id?: string | null }[];
}

/**
 * Who a request comes from, as groups of ids of which each group needs one listed: the workspace (its team id
 * or, for an Enterprise Grid org-wide install, its enterprise id) and, where Slack names it (a Slack Connect
 * channel shared with another organization), the acting user's own workspace.
 */
function slackOrigin(b: SlackBody): (string | undefined)[][] {
  const team = b.team_id ?? b.team?.id;
  const workspace = [team, b.enterprise_id ?? b.enterprise?.id ?? undefined];
  const userTeam = b.user_team ?? b.user?.team_id;
  // A user of another workspace (Slack Connect; or another workspace of a Grid org, which needs its own T… id
  // listed unless the user's enterprise is given and listed) must come from a listed one too.
  if (!userTeam || userTeam === team) return [workspace];
  return [workspace, [userTeam, b.user_enterprise ?? b.user?.enterprise_id]];
}

/** users.info → the facts the core needs to link a Slack user (scopes users:read and users:read.email). */
/** How long a users.info look-up may take before the command that needed it fails. */
const LOOKUP_TIMEOUT_MS = 10_000;

export function slackDirectory(client: WebClient): ChatDirectory {
  return {
    platform: 'slack',
    async lookupUser(teamId: string, userId: string): Promise<ChatProfile> {
      // Slack's client waits out a rate limit and retries; a command must not hold its place in the work queue for
      // that long, so a look-up that takes longer than this fails the one command instead.
      const stop = new AbortController();
      const late = sleep(LOOKUP_TIMEOUT_MS, undefined, { ref: false, signal: stop.signal }).then(
        () => {
          throw new DomainError(
            'UPSTREAM_FAILED',
            'Slack did not say who you are in time (it may be rate limiting this workspace); nothing was run. Try again in a minute.',
          );
        },
        // Cancelled because Slack answered: this promise has lost the race and must never settle.
        () => new Promise<never>(() => {}),
      );
      const res = await Promise.race([client.users.info({ user: userId }), late]).finally(() => stop.abort());
      const u = res.user as (typeof res.user & { is_stranger?: boolean; is_email_confirmed?: boolean }) | undefined;
      if (!u) throw new Error(`users.info returned no user for ${userId}`);
      const kind: ChatProfile['kind'] = u.deleted
        ? 'deleted'
        : u.is_bot || u.id === 'USLACKBOT'
          ? 'bot'
          : u.is_restricted || u.is_ultra_restricted
            ? 'guest'
            : u.is_stranger || (u.team_id && u.team_id !== teamId && !u.enterprise_user)
              ? 'external'
              : 'member';
      const email = u.profile?.email ?? null;
      return {
        kind,
        email,
        // Slack reports is_email_confirmed; an explicit false means the address is not proven to be theirs.
        emailVerified: email !== null && u.is_email_confirmed !== false,
        displayName: u.profile?.display_name || u.real_name || u.name || null,
      };
    },
  };
}

/**
 * The page a person sees when an install does not go through: what went wrong and what to do, with 400 for a
 * stale or foreign link, a cancelled or refused authorization, and 500 for this server's own problems.
 */
function installFailure(logger: Logger) {
  return (
    error: Error & { code?: string; data?: { error?: string } },
    _o: unknown,
    _req: unknown,
    res: ServerResponse,
  ) => {
    const slackError = error.data?.error;
    let status = 400;
    let message: string;
    if (error.code === 'qm_team_not_allowed') {
      status = 403;
      message = 'This Quartermaster only serves the Slack workspaces its operator allowed (SLACK_ALLOWED_TEAMS).';
    } else if (error.code === 'slack_oauth_invalid_state' || error.code === 'slack_oauth_missing_state') {
      message =
        'This install link is not valid in this browser: it expired (after 10 minutes) or was started in another browser.';
    } else if (error.code === 'slack_oauth_missing_code') {
      message = 'Slack did not authorize the install (it was cancelled or denied).';
    } else if (slackError === 'invalid_code' || slackError === 'code_already_used' || slackError === 'code_expired') {
      message = `Slack refused the authorization code (${slackError}): codes are single-use and short-lived.`;
    } else if (slackError === 'bad_client_secret' || slackError === 'invalid_client_id') {
      status = 500;
      message = `Slack rejected this server's app credentials (${slackError}): the operator must check SLACK_CLIENT_ID and SLACK_CLIENT_SECRET.`;
    } else {
      status = 500;
      message = 'Installing Quartermaster failed on the server; its log has the details.';
    }
    logger.warn({ code: error.code, slackError, status }, 'slack install refused');
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(
      `<!doctype html><html><body><h2>Quartermaster was not installed</h2><p>${escapeHtml(message)}</p>` +
        `<p><a href="${SLACK_INSTALL_PATH}">Start the install again</a></p></body></html>`,
    );
  };
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function boltLogger(l: Logger): BoltLogger {
  let level = LogLevel.WARN;
  return {
    debug: (...m: unknown[]) => l.debug({ slack: m.map(String).join(' ') }),
    info: (...m: unknown[]) => l.info({ slack: m.map(String).join(' ') }),
    warn: (...m: unknown[]) => l.warn({ slack: m.map(String).join(' ') }),
    error: (...m: unknown[]) => l.error({ slack: m.map(String).join(' ') }),
    setLevel: (lv: LogLevel) => {
      level = lv;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
