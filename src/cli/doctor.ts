/**
 * `npx quartermaster doctor`: the configuration checks `start` makes (the same code: environment, policy file,
 * HOST), then the live ones: the database reachable and migrated, the Admin API with the admin key (or the
 * simulated organization), Slack auth.test and Discord /users/@me with their tokens. One line per check, ✓ or ✗
 * and a sentence; exit code 0 when every check passes, 1 otherwise. Never prints a secret.
 */
import { lookup } from 'node:dns/promises';
import { createAdminApiClient } from '../anthropic/client.js';
import { ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { describeAdminApiError } from '../core/admin-errors.js';
import { PolicyError } from '../core/approvals/policy.js';
import { AdminApiError } from '../core/ports/admin-api.js';
import { type CredentialCheck, networkReason } from '../core/ports/credentials.js';
import { checkDiscordToken } from '../discord/credentials.js';
import { adminApiTarget, loadStartupConfiguration } from '../main.js';
import { checkSlackAppToken, checkSlackBotToken } from '../slack/credentials.js';
import { openStore } from '../store/index.js';
import { printLine } from './output.js';

export interface DoctorOptions {
  env?: Record<string, string | undefined>;
  /** Where the lines go; stdout (scrubbed of secrets) by default. */
  print?: (line: string) => void;
}

export async function runDoctor(o: DoctorOptions = {}): Promise<number> {
  const print = o.print ?? printLine;
  let ok = true;
  const report = (good: boolean, sentence: string) => {
    print(`${good ? '✓' : '✗'} ${sentence}`);
    ok &&= good;
  };

  // 1. What `start` refuses, doctor refuses, with the same messages.
  let config: Config;
  try {
    ({ config } = loadStartupConfiguration(o.env ?? process.env));
  } catch (err) {
    if (err instanceof ConfigError) for (const p of err.problems) report(false, p);
    else if (err instanceof PolicyError) report(false, err.message);
    else throw err;
    print('The live checks need a valid configuration; fix the problems above and run doctor again.');
    return 1;
  }
  report(true, 'The configuration and the policy file are valid.');
  report(true, describeChatSetup(config));
  await checkHost(config, report);

  // 2. The live checks.
  await checkDatabase(config, report);
  await checkAdminApi(config, report);
  const live: Promise<CredentialCheck>[] = [];
  if (config.SLACK_BOT_TOKEN) live.push(checkSlackBotToken(config.SLACK_API_URL, config.SLACK_BOT_TOKEN));
  if (config.SLACK_APP_TOKEN) live.push(checkSlackAppToken(config.SLACK_API_URL, config.SLACK_APP_TOKEN));
  if (config.DISCORD_TOKEN) live.push(checkDiscordToken(config.DISCORD_API_URL, config.DISCORD_TOKEN));
  for (const check of await Promise.all(live)) report(check.status === 'ok', check.detail);
  return ok ? 0 : 1;
}

type Report = (good: boolean, sentence: string) => void;

/** Which chat set-up the configuration describes (any of them, or none, is a valid one). */
function describeChatSetup(c: Config): string {
  const slack = c.SLACK_CLIENT_ID
    ? 'Slack over HTTP with the OAuth install (each workspace brings its own bot token)'
    : c.SLACK_APP_TOKEN
      ? 'Slack in Socket Mode'
      : c.SLACK_BOT_TOKEN
        ? 'Slack over HTTP with one bot token'
        : 'Slack not configured';
  const discord = c.DISCORD_TOKEN
    ? c.DISCORD_PUBLIC_KEY
      ? 'Discord over the gateway and the HTTP interactions endpoint'
      : 'Discord over the gateway'
    : c.DISCORD_PUBLIC_KEY
      ? 'Discord over the HTTP interactions endpoint only (no bot token)'
      : 'Discord not configured';
  return `Chat set-up: ${slack}; ${discord}.`;
}

/** `start` listens on HOST: a name that does not resolve stops it. */
async function checkHost(c: Config, report: Report): Promise<void> {
  try {
    await lookup(c.HOST);
  } catch (err) {
    report(false, `HOST=${c.HOST} does not resolve (${networkReason(err)}); set HOST to 0.0.0.0 or 127.0.0.1.`);
  }
}

async function checkDatabase(c: Config, report: Report): Promise<void> {
  // The host says which server; the credentials and parameters never leave the URL.
  const where = c.DATABASE_URL.startsWith('file:')
    ? c.DATABASE_URL.split('?')[0]
    : `PostgreSQL on ${URL.canParse(c.DATABASE_URL) ? new URL(c.DATABASE_URL).host : 'the configured server'} (DATABASE_URL)`;
  let store: Awaited<ReturnType<typeof openStore>> | null = null;
  try {
    store = await openStore(c.DATABASE_URL);
    await store.health.ping();
    const pending = await store.health.pendingMigrations();
    report(
      pending.length === 0,
      pending.length
        ? `The database ${where} is reachable but ${pending.length} migration${pending.length === 1 ? ' is' : 's are'} not applied; run npx quartermaster migrate (start applies them too).`
        : `The database ${where} is reachable and migrated.`,
    );
  } catch (err) {
    report(false, `The database ${where} is not reachable: ${databaseReason(err)}.`);
  } finally {
    await store?.close().catch(() => undefined);
  }
}

async function checkAdminApi(c: Config, report: Report): Promise<void> {
  const target = adminApiTarget(c);
  if (!target) {
    report(
      true,
      'Anthropic: no ANTHROPIC_ADMIN_KEY, so start serves the built-in simulated organization; set it to manage your real organization.',
    );
    return;
  }
  try {
    const org = await createAdminApiClient({ ...target, maxRetries: 0 }).getOrganization();
    report(
      true,
      `The Anthropic Admin API at ${target.baseURL} accepts ANTHROPIC_ADMIN_KEY (organization "${org.name}").`,
    );
  } catch (err) {
    report(false, err instanceof AdminApiError ? describeAdminApiError(err) : networkReason(err));
  }
}

/** Prisma wraps a driver's failure in a multi-line "Invalid `prisma.…()` invocation" text: keep its message. */
function databaseReason(err: unknown): string {
  const reason = networkReason(err);
  const quoted = /Message: `([^`]+)`/.exec(reason)?.[1];
  if (quoted) return quoted.replace(/\.$/, '');
  const lines = reason
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return (lines.at(-1) ?? reason).replace(/\.$/, '');
}
