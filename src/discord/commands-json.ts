/**
 * The command definitions → Discord's application command JSON (the body of the bulk-overwrite PUT).
 *
 * Everything lives under ONE chat-input command, `/qm`: a one-segment path (`help`) is a SUB_COMMAND of `/qm`,
 * a two-segment path (`keys list`) is the SUB_COMMAND `list` inside the SUB_COMMAND_GROUP `keys`. Discord
 * cannot nest deeper, so a three-segment path is refused here.
 *
 * Pure: no I/O and only *type* imports from discord.js. Definitions that break one of Discord's limits make
 * `discordCommands` throw, naming the command/option to fix: nothing is silently truncated.
 *
 * Limits, from Discord's developer docs, "Application Commands" (docs.discord.com/developers/interactions/
 * application-commands): "Application Command Naming", "Application Command Structure", "Application Command
 * Option Structure", "Application Command Option Choice Structure" and "Registering a Command" (the limits
 * list there). Each limit below cites the section it comes from.
 */
import type {
  APIApplicationCommandBasicOption,
  APIApplicationCommandOption,
  APIApplicationCommandOptionChoice,
  APIApplicationCommandSubcommandGroupOption,
  APIApplicationCommandSubcommandOption,
  ApplicationCommandOptionType,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { CommandRegistry, RegisteredCommand } from '../core/command/define.js';
import type { OptionSpec } from '../core/command/options.js';

/** The one top-level command. */
export const DISCORD_COMMAND_NAME = 'qm';
export const DISCORD_COMMAND_DESCRIPTION = 'Quartermaster: your Anthropic organization';

// Numeric constants of discord-api-types (ApplicationCommandType / ApplicationCommandOptionType /
// InteractionContextType / ApplicationIntegrationType), spelled out so this module loads no runtime code.
const CHAT_INPUT = 1 as const;
const SUB_COMMAND = 1 as ApplicationCommandOptionType.Subcommand;
const SUB_COMMAND_GROUP = 2 as ApplicationCommandOptionType.SubcommandGroup;
const STRING = 3 as ApplicationCommandOptionType.String;
const INTEGER = 4 as ApplicationCommandOptionType.Integer;
const BOOLEAN = 5 as ApplicationCommandOptionType.Boolean;
const USER = 6 as ApplicationCommandOptionType.User;
/** InteractionContextType.Guild: `/qm` is offered in servers only, never in DMs. */
const CONTEXT_GUILD = 0;
/** ApplicationIntegrationType.GuildInstall: installed to a server, not to a user account. */
const GUILD_INSTALL = 0;

// ---- Discord's limits ------------------------------------------------------------------------------------

/**
 * "Application Command Naming": CHAT_INPUT command and option names match `^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$`
 * (unicode flag) and must use the lowercase variant of any letter that has one. We allow the stricter subset
 * `^[-_\p{L}\p{N}]{1,32}$`.
 */
const NAME_RE = /^[-_\p{L}\p{N}]{1,32}$/u;
/** "Application Command Structure" / "Option Structure": description is 1-100 characters. */
export const MAX_DESCRIPTION = 100;
/** "Application Command Structure": `options` holds up to 25 entries; "Option Structure": same for a subcommand/group's `options`. */
export const MAX_OPTIONS = 25;
/** "Application Command Option Structure": up to 25 `choices`. */
export const MAX_CHOICES = 25;
/** "Application Command Option Choice Structure": choice name 1-100 characters, string value up to 100. */
export const MAX_CHOICE_NAME = 100;
export const MAX_CHOICE_VALUE = 100;
/**
 * "Registering a Command" (limits): the combined sum of characters of all name, description and value
 * properties of a command, its options (including subcommands and groups) and choices is at most 8000.
 * (Older docs and some libraries say 4000; Discord raised it to 8000.)
 */
export const MAX_TOTAL_CHARACTERS = 8000;
/** "Registering a Command": an app can have up to 100 global CHAT_INPUT commands (and 100 per guild). */
export const MAX_CHAT_INPUT_COMMANDS = 100;

// ---- Definitions → JSON ----------------------------------------------------------------------------------

/** Characters as Discord counts them (code points, so an emoji is one). */
const len = (s: unknown) => (typeof s === 'string' ? [...s].length : 0);

function checkDescription(what: string, description: string): string {
  const n = len(description);
  if (n < 1 || n > MAX_DESCRIPTION) {
    throw new Error(
      `Discord: the description of ${what} is ${n} characters, Discord allows 1-${MAX_DESCRIPTION}: shorten it in its definition ("${description}")`,
    );
  }
  return description;
}

function optionJson(command: string, spec: OptionSpec): APIApplicationCommandBasicOption {
  const description = checkDescription(`option "${spec.name}" of command "${command}"`, spec.description);
  const base = { name: spec.name, description, ...(spec.required ? { required: true } : {}) };
  switch (spec.kind) {
    case 'string':
      return {
        type: STRING,
        ...base,
        ...(spec.minLength !== undefined ? { min_length: spec.minLength } : {}),
        ...(spec.maxLength !== undefined ? { max_length: spec.maxLength } : {}),
      };
    case 'enum':
      return {
        type: STRING,
        ...base,
        choices: (spec.choices ?? []).map((c) => ({ name: c, value: c })),
      };
    case 'integer':
      return {
        type: INTEGER,
        ...base,
        ...(spec.min !== undefined ? { min_value: spec.min } : {}),
        ...(spec.max !== undefined ? { max_value: spec.max } : {}),
      };
    case 'boolean':
      return { type: BOOLEAN, ...base };
    case 'user':
      return { type: USER, ...base };
  }
}

/** "Application Command Option Structure": required options must be listed before optional ones. Stable. */
function requiredFirst<T extends { required?: boolean }>(options: T[]): T[] {
  return [...options.filter((o) => o.required), ...options.filter((o) => !o.required)];
}

function subcommandJson(cmd: RegisteredCommand): APIApplicationCommandSubcommandOption {
  const name = cmd.definition.path[cmd.definition.path.length - 1]!;
  const options = requiredFirst(cmd.options.map((o) => optionJson(cmd.name, o)));
  return {
    type: SUB_COMMAND,
    name,
    description: checkDescription(`command "${cmd.name}"`, cmd.definition.description),
    ...(options.length ? { options } : {}),
  };
}

function groupDescription(group: string, children: readonly string[]): string {
  const title = group.charAt(0).toUpperCase() + group.slice(1);
  const full = `${title}: ${children.join(', ')}`;
  return full.length <= MAX_DESCRIPTION ? full : title;
}

/** The registry as Discord's bulk-overwrite body: exactly one chat-input command, `/qm`. */
export function discordCommands(registry: CommandRegistry): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  const top: APIApplicationCommandOption[] = [];
  const groups = new Map<string, APIApplicationCommandSubcommandGroupOption>();
  for (const cmd of registry.commands) {
    const path = cmd.definition.path;
    if (path.length === 1) top.push(subcommandJson(cmd));
    else if (path.length === 2) {
      const groupName = path[0]!;
      let group = groups.get(groupName);
      if (!group) {
        group = { type: SUB_COMMAND_GROUP, name: groupName, description: '', options: [] };
        groups.set(groupName, group);
        top.push(group); // first appearance fixes the group's place: definition order
      }
      group.options!.push(subcommandJson(cmd));
    } else {
      throw new Error(
        `Discord: command "${cmd.name}" has ${path.length} words; Discord allows at most a group and a subcommand under /${DISCORD_COMMAND_NAME} (e.g. "keys list")`,
      );
    }
  }
  for (const [name, group] of groups) {
    group.description = groupDescription(
      name,
      group.options!.map((o) => o.name),
    );
  }
  const json: RESTPostAPIChatInputApplicationCommandsJSONBody[] = [
    {
      name: DISCORD_COMMAND_NAME,
      type: CHAT_INPUT,
      description: DISCORD_COMMAND_DESCRIPTION,
      contexts: [CONTEXT_GUILD],
      integration_types: [GUILD_INSTALL],
      options: top,
    },
  ];
  const problems = validateDiscordCommands(json);
  if (problems.length) {
    throw new Error(`Discord: the command definitions break Discord's limits:\n- ${problems.join('\n- ')}`);
  }
  return json;
}

/** `manifest/discord-commands.json`, exactly as committed. */
export function discordManifestText(registry: CommandRegistry): string {
  return `${JSON.stringify(discordCommands(registry), null, 2)}\n`;
}

// ---- Validation ------------------------------------------------------------------------------------------

type AnyOption = {
  type?: number;
  name?: unknown;
  description?: unknown;
  required?: boolean;
  choices?: readonly APIApplicationCommandOptionChoice[];
  options?: readonly AnyOption[];
};
type AnyCommand = { type?: number; name?: unknown; description?: unknown; options?: readonly AnyOption[] };

function checkName(where: string, name: unknown, problems: string[]): void {
  // "Application Command Naming": the regex, and lowercase letters wherever a lowercase variant exists.
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    problems.push(`${where}: name ${JSON.stringify(name)} must be 1-32 letters, digits, "-" or "_"`);
  } else if (name !== name.toLowerCase()) {
    problems.push(`${where}: name "${name}" must be lowercase`);
  }
}

function checkDescriptionLimit(where: string, description: unknown, problems: string[]): void {
  // "Application Command Structure" / "Application Command Option Structure": 1-100 characters.
  const n = len(description);
  if (typeof description !== 'string' || n < 1 || n > MAX_DESCRIPTION) {
    problems.push(`${where}: description must be 1-${MAX_DESCRIPTION} characters (it is ${n})`);
  }
}

/**
 * Checks a level's option list: count, unique names, required-before-optional, and what may be nested here.
 * `level` is 'command' (top: subcommands, groups or plain options, not mixed), 'group' (subcommands only) or
 * 'subcommand' (plain options only): Discord nests at most command → group → subcommand → options
 * ("Subcommands and Subcommand Groups" in the Application Commands docs).
 */
function checkOptions(
  where: string,
  options: readonly AnyOption[] | undefined,
  level: 'command' | 'group' | 'subcommand',
  problems: string[],
): void {
  if (!options) return;
  if (options.length > MAX_OPTIONS) {
    problems.push(`${where}: has ${options.length} options/subcommands/groups, Discord allows ${MAX_OPTIONS}`);
  }
  const names = new Set<unknown>();
  let sawOptional = false;
  const nesting = options.filter((o) => o.type === SUB_COMMAND || o.type === SUB_COMMAND_GROUP).length;
  if (nesting > 0 && nesting < options.length) {
    problems.push(`${where}: mixes subcommands/groups with plain options, Discord does not allow that`);
  }
  for (const o of options) {
    const at = `${where} ${typeof o.name === 'string' ? o.name : '?'}`;
    checkName(at, o.name, problems);
    checkDescriptionLimit(at, o.description, problems);
    // "Application Command Option Structure": name must be unique within an array of options.
    if (names.has(o.name)) problems.push(`${at}: the name is used twice at this level`);
    names.add(o.name);
    if (o.type === SUB_COMMAND_GROUP) {
      if (level !== 'command') problems.push(`${at}: a subcommand group can only sit directly under the command`);
      checkOptions(at, o.options, 'group', problems);
      continue;
    }
    if (o.type === SUB_COMMAND) {
      if (level === 'subcommand') problems.push(`${at}: a subcommand cannot contain a subcommand`);
      checkOptions(at, o.options, 'subcommand', problems);
      continue;
    }
    if (level === 'group') problems.push(`${at}: a subcommand group may only contain subcommands`);
    if (o.options?.length) problems.push(`${at}: a plain option cannot contain options`);
    // "Application Command Option Structure": required options must be listed before optional options.
    if (o.required) {
      if (sawOptional) problems.push(`${at}: required option listed after an optional one`);
    } else sawOptional = true;
    if (o.choices) {
      // "Application Command Option Structure": up to 25 choices.
      if (o.choices.length > MAX_CHOICES) {
        problems.push(`${at}: has ${o.choices.length} choices, Discord allows ${MAX_CHOICES}`);
      }
      for (const c of o.choices) {
        // "Application Command Option Choice Structure": name 1-100, string value up to 100 characters.
        const n = len(c.name);
        if (typeof c.name !== 'string' || n < 1 || n > MAX_CHOICE_NAME) {
          problems.push(`${at}: choice name ${JSON.stringify(c.name)} must be 1-${MAX_CHOICE_NAME} characters`);
        }
        if (typeof c.value === 'string' && len(c.value) > MAX_CHOICE_VALUE) {
          problems.push(`${at}: choice value "${c.value}" is longer than ${MAX_CHOICE_VALUE} characters`);
        }
      }
    }
  }
}

/**
 * "Registering a Command": the combined characters of every name, description and value (choice values)
 * in the command, its options (including subcommands and groups) and choices.
 */
export function totalCharacters(command: AnyCommand): number {
  let total = len(command.name) + len(command.description);
  const walk = (options: readonly AnyOption[] | undefined) => {
    for (const o of options ?? []) {
      total += len(o.name) + len(o.description);
      for (const c of o.choices ?? []) total += len(c.name) + String(c.value).length;
      walk(o.options);
    }
  };
  walk(command.options);
  return total;
}

/** Discord's documented limits, checked before Discord does; returns human-readable problems (empty = fine). */
export function validateDiscordCommands(json: readonly RESTPostAPIChatInputApplicationCommandsJSONBody[]): string[] {
  const problems: string[] = [];
  if (json.length > MAX_CHAT_INPUT_COMMANDS) {
    problems.push(`${json.length} chat-input commands, Discord allows ${MAX_CHAT_INPUT_COMMANDS}`);
  }
  const names = new Set<unknown>();
  for (const c of json as readonly AnyCommand[]) {
    const where = `/${typeof c.name === 'string' ? c.name : '?'}`;
    if (c.type !== undefined && c.type !== CHAT_INPUT) problems.push(`${where}: is not a chat-input command`);
    checkName(where, c.name, problems);
    checkDescriptionLimit(where, c.description, problems);
    if (names.has(c.name)) problems.push(`${where}: defined twice`);
    names.add(c.name);
    checkOptions(where, c.options, 'command', problems);
    const total = totalCharacters(c);
    if (total > MAX_TOTAL_CHARACTERS) {
      problems.push(
        `${where}: names, descriptions and choices total ${total} characters, Discord allows ${MAX_TOTAL_CHARACTERS}`,
      );
    }
  }
  return problems;
}
