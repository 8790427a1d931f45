/**
 * Checks SLACK_BOT_TOKEN (auth.test) and SLACK_APP_TOKEN (apps.connections.open) with Slack itself, once and
 * without the Web API client's retries, so start-up can tell a refused token from an unreachable Slack.
 */
import { LogLevel, webApi } from '@slack/bolt';
import { type CredentialCheck, networkReason } from '../core/ports/credentials.js';

/** Slack's answers that mean the token itself is refused (retrying cannot help). */
const REJECTED = new Set([
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'account_inactive',
  'not_allowed_token_type',
  'invalid_token',
]);

export type SlackBotCheck = CredentialCheck & { botId?: string; botUserId?: string };

const TIMEOUT_MS = 10_000;

const { ErrorCode } = webApi;

function client(apiUrl: string, token: string): webApi.WebClient {
  return new webApi.WebClient(token, {
    slackApiUrl: apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: TIMEOUT_MS,
    logLevel: LogLevel.ERROR,
  });
}

export async function checkSlackBotToken(apiUrl: string, token: string): Promise<SlackBotCheck> {
  try {
    const r = await client(apiUrl, token).auth.test();
    return {
      status: 'ok',
      detail: `Slack accepted SLACK_BOT_TOKEN (bot ${r.user ?? r.user_id} in workspace ${r.team ?? r.team_id}).`,
      botId: r.bot_id,
      botUserId: r.user_id,
    };
  } catch (err) {
    return failure(err, 'SLACK_BOT_TOKEN', "the app's Bot User OAuth Token (xoxb-…, OAuth & Permissions page)");
  }
}

export async function checkSlackAppToken(apiUrl: string, token: string): Promise<CredentialCheck> {
  try {
    await client(apiUrl, token).apps.connections.open();
    return { status: 'ok', detail: 'Slack accepted SLACK_APP_TOKEN (Socket Mode).' };
  } catch (err) {
    return failure(
      err,
      'SLACK_APP_TOKEN',
      "an app-level token with the connections:write scope (xapp-…, the app's Basic Information page)",
    );
  }
}

function failure(err: unknown, variable: string, whatToCopy: string): CredentialCheck {
  const e = err as { code?: string; data?: { error?: string }; statusCode?: number; original?: Error };
  if (e.code === ErrorCode.PlatformError) {
    const answer = e.data?.error ?? 'unknown_error';
    if (REJECTED.has(answer)) {
      return {
        status: 'rejected',
        detail: `Slack rejected ${variable} (${answer}): the token is wrong, revoked or belongs to an uninstalled app; set it to ${whatToCopy}.`,
      };
    }
    return { status: 'unreachable', detail: `Slack unreachable: it answered ${answer} to the check of ${variable}.` };
  }
  if (e.code === ErrorCode.HTTPError) {
    return { status: 'unreachable', detail: `Slack unreachable: HTTP ${e.statusCode} at SLACK_API_URL.` };
  }
  if (e.code === ErrorCode.RateLimitedError) {
    return { status: 'unreachable', detail: 'Slack unreachable: rate limited; retrying.' };
  }
  const cause = e.original ?? (err as Error);
  return { status: 'unreachable', detail: `Slack unreachable: ${networkReason(cause)} (SLACK_API_URL).` };
}
