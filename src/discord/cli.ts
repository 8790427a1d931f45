/**
 * The Discord verbs of the CLI, wired by src/cli/main.ts:
 *   quartermaster manifest discord [--write]      print (or write manifest/discord-commands.json) the /qm command JSON
 *   quartermaster discord register [--guild ID]   register /qm with Discord (only when it changed)
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandLine, UsageError } from '../cli/args.js';
import { CommandRegistry } from '../core/command/define.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DISCORD_MANIFEST_FILE = path.join(root, 'manifest', 'discord-commands.json');

export const DISCORD_REGISTER_USAGE = 'Usage: npx quartermaster discord register [--guild GUILD_ID]';

/** `manifest discord [--write]`: prints the JSON, or writes manifest/discord-commands.json. Exit code. */
export async function runManifestDiscord(write: boolean): Promise<number> {
  const [{ commands }, { discordManifestText }] = await Promise.all([
    import('../../commands/index.js'),
    import('./commands-json.js'),
  ]);
  const text = discordManifestText(new CommandRegistry(commands));
  if (write) {
    writeFileSync(DISCORD_MANIFEST_FILE, text);
    console.log(`Wrote ${path.relative(process.cwd(), DISCORD_MANIFEST_FILE)}`);
  } else process.stdout.write(text);
  return 0;
}

/**
 * `discord register [--guild ID]`: reads DISCORD_TOKEN, DISCORD_APPLICATION_ID and DISCORD_API_URL from `env`,
 * registers /qm globally (or in one guild), PUTting only when it differs. Exit code: 0 done, 2 usage, 78 config, 1 Discord refused.
 * `args` are those after `register`.
 */
export async function runDiscordRegister(
  args: string[],
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  let guildId: string | undefined;
  try {
    const cl = parseCommandLine(args, DISCORD_REGISTER_USAGE, { guild: { type: 'string' } });
    if (cl.help) {
      console.log(DISCORD_REGISTER_USAGE);
      return 0;
    }
    guildId = cl.values.guild as string | undefined;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(err.text);
    return 2;
  }
  if (guildId !== undefined && !/^\d{15,21}$/.test(guildId)) {
    console.error(
      `--guild needs the numeric server id (Discord → User Settings → Advanced → Developer Mode, then right-click the server → Copy Server ID).\n${DISCORD_REGISTER_USAGE}`,
    );
    return 2;
  }
  const token = env.DISCORD_TOKEN?.trim();
  const applicationId = env.DISCORD_APPLICATION_ID?.trim();
  const missing: string[] = [];
  if (!token) missing.push('DISCORD_TOKEN (Developer Portal → your application → Bot → Reset Token)');
  if (!applicationId) {
    missing.push('DISCORD_APPLICATION_ID (Developer Portal → your application → General Information → Application ID)');
  } else if (!/^\d{15,21}$/.test(applicationId)) {
    console.error(`DISCORD_APPLICATION_ID must be the numeric application id, not "${applicationId}".`);
    return 78;
  }
  if (missing.length) {
    console.error(`To register the /qm command, set ${missing.join(' and ')}.`);
    return 78;
  }
  // discord.js and the command definitions load only when something is registered.
  const [{ commands }, { DEFAULT_DISCORD_API_URL, registerDiscordCommands }] = await Promise.all([
    import('../../commands/index.js'),
    import('./register.js'),
  ]);
  const apiUrl = env.DISCORD_API_URL?.trim() || DEFAULT_DISCORD_API_URL;
  try {
    await registerDiscordCommands({
      token: token!,
      applicationId: applicationId!,
      apiUrl,
      ...(guildId ? { guildId } : {}),
      registry: new CommandRegistry(commands),
      log: (line) => console.log(line),
    });
    return 0;
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    return 1;
  }
}
