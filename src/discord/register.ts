/**
 * Registers `/qm` with Discord, idempotently: GET the application's commands (global, or one guild's), compare
 * them semantically with the JSON generated from the definitions, and bulk-overwrite (PUT) only when they
 * differ, so restarts do not churn Discord's command versions (nor its rate limits).
 *
 * Guild scope updates instantly and is meant for development; global scope is what servers normally see.
 */
import { DiscordAPIError, HTTPError, REST, Routes } from 'discord.js';
import type { CommandRegistry } from '../core/command/define.js';
import { discordCommands } from './commands-json.js';

export const DEFAULT_DISCORD_API_URL = 'https://discord.com/api';

export interface RegisterDiscordCommandsOptions {
  /** DISCORD_TOKEN: the bot token. */
  token: string;
  /** DISCORD_APPLICATION_ID. */
  applicationId: string;
  /** DISCORD_API_URL, default https://discord.com/api (the REST client appends /v10). */
  apiUrl?: string;
  /** Register in this guild only (instant; for development) instead of globally. */
  guildId?: string;
  registry: CommandRegistry;
  log?: (line: string) => void;
}

export interface RegisterDiscordCommandsResult {
  changed: boolean;
  scope: 'global' | 'guild';
}

/** Registration failed; `message` says what to fix in plain words. */
export class DiscordRegisterError extends Error {
  override readonly name = 'DiscordRegisterError';
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: number | string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export async function registerDiscordCommands(
  o: RegisterDiscordCommandsOptions,
): Promise<RegisterDiscordCommandsResult> {
  const log = o.log ?? (() => {});
  const scope = o.guildId ? 'guild' : 'global';
  const where = o.guildId ? `guild ${o.guildId}` : 'global';
  const desired = discordCommands(o.registry);
  const route = o.guildId
    ? Routes.applicationGuildCommands(o.applicationId, o.guildId)
    : Routes.applicationCommands(o.applicationId);
  // No sweeper timers: this client lives for two requests.
  const rest = new REST({
    version: '10',
    api: o.apiUrl ?? DEFAULT_DISCORD_API_URL,
    hashSweepInterval: 0,
    handlerSweepInterval: 0,
  }).setToken(o.token);

  let current: unknown;
  try {
    current = await rest.get(route);
  } catch (err) {
    throw explain(err, o, 'read');
  }
  if (sameCommands(current, desired)) {
    log(`Discord commands (${where}) are up to date: ${names(desired)}`);
    return { changed: false, scope };
  }
  try {
    await rest.put(route, { body: desired });
  } catch (err) {
    throw explain(err, o, 'update');
  }
  const removed = Array.isArray(current)
    ? current.map((c: any) => c?.name).filter((n) => !desired.some((d) => d.name === n))
    : [];
  log(
    `Discord commands (${where}): updated ${desired.length} command${desired.length === 1 ? '' : 's'} (${names(desired)})` +
      (removed.length ? `, removed ${removed.map((n) => `/${n}`).join(', ')}` : ''),
  );
  return { changed: true, scope };
}

const names = (cmds: readonly { name: string }[]) => cmds.map((c) => `/${c.name}`).join(', ');

// ---- Semantic comparison ---------------------------------------------------------------------------------

/** Fields Discord adds or that no longer mean anything (dm_permission/default_permission are superseded by contexts and default_member_permissions). */
const IGNORED_KEYS = new Set([
  'id',
  'application_id',
  'version',
  'guild_id',
  'dm_permission',
  'default_permission',
  'name_localized',
  'description_localized',
]);

/**
 * A command (or option) as a canonical value: server-added fields dropped; null/undefined, `false`
 * (required, nsfw, autocomplete: all default false), empty arrays and empty objects treated as absent;
 * a missing command `type` is CHAT_INPUT. Arrays keep their order (option order matters to Discord).
 */
export function normalizeCommand(value: unknown, top = true): unknown {
  if (Array.isArray(value)) return value.map((v) => normalizeCommand(v, false));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    if (IGNORED_KEYS.has(key)) continue;
    const v = normalizeCommand((value as Record<string, unknown>)[key], false);
    if (v === null || v === undefined || v === false) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    out[key] = v;
  }
  if (top && out.type === undefined) out.type = 1;
  return out;
}

/** Same set of commands (in any order, keyed by type and name), each semantically equal. */
export function sameCommands(current: unknown, desired: readonly unknown[]): boolean {
  if (!Array.isArray(current) || current.length !== desired.length) return false;
  const canon = (list: readonly unknown[]) =>
    list
      .map((c) => JSON.stringify(normalizeCommand(c)))
      .sort()
      .join('\n');
  return canon(current) === canon(desired);
}

// ---- Errors in plain words -------------------------------------------------------------------------------

function explain(err: unknown, o: RegisterDiscordCommandsOptions, action: 'read' | 'update'): DiscordRegisterError {
  const scope = o.guildId ? `in guild ${o.guildId}` : 'globally';
  if (err instanceof DiscordAPIError) {
    const { status, code } = err;
    const said = `Discord said: ${status} ${err.message}`;
    if (status === 401) {
      return new DiscordRegisterError(
        `Discord rejected DISCORD_TOKEN (401 Unauthorized). Use the bot token from the Developer Portal → your application → Bot → Reset Token (not the client secret or the public key), and check that it belongs to application DISCORD_APPLICATION_ID=${o.applicationId}. ${said}`,
        status,
        code,
        { cause: err },
      );
    }
    if (status === 403 || code === 50001) {
      const guildHint = o.guildId
        ? ` and that the bot was added to guild ${o.guildId} with the "applications.commands" scope (OAuth2 URL generator: scopes bot + applications.commands)`
        : ' and that the app was installed with the "applications.commands" scope';
      return new DiscordRegisterError(
        `Discord refused to let this bot ${action} its slash commands ${scope} (403 Missing Access). Check that DISCORD_APPLICATION_ID=${o.applicationId} is the id of the application DISCORD_TOKEN belongs to${guildHint}. ${said}`,
        status,
        code,
        { cause: err },
      );
    }
    if (status === 404 || code === 10002 || code === 10004) {
      return new DiscordRegisterError(
        `Discord does not know ${code === 10004 ? `guild ${o.guildId} (is the bot in it?)` : `application DISCORD_APPLICATION_ID=${o.applicationId}`} (404). Copy the Application ID from the Developer Portal → your application → General Information. ${said}`,
        status,
        code,
        { cause: err },
      );
    }
    if (code === 50035) {
      return new DiscordRegisterError(
        `Discord rejected the /qm command definitions (50035 Invalid Form Body): a command or option breaks one of Discord's rules. Run \`npx vitest run test/discord\` (validateDiscordCommands names the problem) and fix the definition in commands/. ${said}`,
        status,
        code,
        { cause: err },
      );
    }
    return new DiscordRegisterError(
      `Discord refused to ${action} the slash commands ${scope}. ${said} (code ${code})`,
      status,
      code,
      {
        cause: err,
      },
    );
  }
  if (err instanceof HTTPError) {
    return new DiscordRegisterError(
      `Discord is having trouble (${err.status} on ${err.method} ${err.url}); try again later.`,
      err.status,
      undefined,
      { cause: err },
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new DiscordRegisterError(
    `Could not reach Discord at ${o.apiUrl ?? DEFAULT_DISCORD_API_URL} (DISCORD_API_URL) to ${action} the slash commands: ${message}`,
    undefined,
    undefined,
    { cause: err },
  );
}
