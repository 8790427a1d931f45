/**
 * A command is defined once, as data: its path under `/qm`, a description, zod options (each with
 * `.describe()`), who may run it, and a handler returning a neutral Reply. Slack text parsing, the Slack
 * manifest, Discord's command JSON and `/qm help` are all derived from these definitions.
 */
import type { z } from 'zod';
import type { Caller } from '../identity/caller.js';
import type { Permission } from '../identity/permissions.js';
import type { Platform } from '../ports/store.js';
import type { Services } from '../services.js';
import { describeOptions, type OptionSpec } from './options.js';
import type { Reply } from './reply.js';

/**
 * `public`: anyone on the chat platform, linked or not (help, whoami).
 * `member`: any chat user linked to an org member.
 * A Permission: a linked member whose org role grants it.
 */
export type Access = 'public' | 'member' | Permission;

export interface InvocationInfo {
  platform: Platform;
  teamId: string;
  userId: string;
  channelId: string | null;
  /** How the caller types this command on their platform, e.g. `/qm keys list`; used in hints. */
  commandText: string;
}

export interface CommandContext<O> {
  options: O;
  caller: Caller;
  services: Services;
  invocation: InvocationInfo;
  /** Every command, for help. */
  registry: CommandRegistry;
}

export interface CommandDefinition<S extends z.ZodObject<any> = z.ZodObject<any>> {
  path: readonly string[];
  description: string;
  access: Access;
  options: S;
  /** Options that may be given without `name:` in the text form, in this order. */
  positional?: readonly (keyof z.infer<S> & string)[];
  /**
   * A positional option that does not apply given the options read so far (raw text values): it is passed over and
   * the next word fills the next positional option. E.g. `limits set org 5000`: an org budget has no target, so
   * `5000` is the amount.
   */
  skipPositional?(name: string, given: Readonly<Record<string, string | boolean>>): boolean;
  /** Example text forms (without the `/qm` prefix), for help. */
  examples?: readonly string[];
  /**
   * The command only reads (lists, shows): it may authorize on the synced copy of the caller's org role, which
   * can be a few minutes old. Every other command that needs a linked caller reads the role live first, as do
   * commands that need a permission in LIVE_ROLE_PERMISSIONS (the audit log) even when they only read.
   */
  readOnly?: boolean;
  /**
   * For a command anyone may run (or a read-only one) whose options can also grant a power over someone else
   * (link another person, unlink them): when this returns true for the validated options, the dispatcher reads
   * the caller's org role live before the handler runs, exactly as for a command that changes the organization,
   * and refuses when it cannot be confirmed. The handler then checks its permission on that live role.
   */
  liveRoleWhen?(options: z.infer<S>, caller: Caller): boolean;
  handler(ctx: CommandContext<z.infer<S>>): Promise<Reply>;
}

/** Permissions whose commands always check the caller's role live, even read-only ones. */
export const LIVE_ROLE_PERMISSIONS: ReadonlySet<Access> = new Set<Access>([
  'audit:read',
  'links:manage',
  'incidents:manage',
]);

/** Whether running the command needs the caller's org role read live from the Admin API (see `readOnly`). */
export function needsLiveRole(def: Pick<CommandDefinition, 'access' | 'readOnly'>): boolean {
  if (def.access === 'public') return false;
  return !def.readOnly || LIVE_ROLE_PERMISSIONS.has(def.access);
}

export function defineCommand<S extends z.ZodObject<any>>(def: CommandDefinition<S>): CommandDefinition<S> {
  return def;
}

export interface RegisteredCommand {
  definition: CommandDefinition;
  name: string;
  options: OptionSpec[];
}

export class CommandRegistry {
  readonly commands: readonly RegisteredCommand[];
  private readonly byName = new Map<string, RegisteredCommand>();

  constructor(definitions: readonly CommandDefinition<any>[]) {
    this.commands = definitions.map((definition) => {
      const name = definition.path.join(' ');
      if (this.byName.has(name)) throw new Error(`Command "${name}" is defined twice`);
      if (!/^[a-z][a-z-]*( [a-z][a-z-]*){0,2}$/.test(name)) throw new Error(`Command path "${name}" is not valid`);
      const options = describeOptions(name, definition.options);
      for (const p of definition.positional ?? []) {
        if (!options.some((o) => o.name === p)) throw new Error(`Positional "${p}" of "${name}" is not an option`);
      }
      const cmd = { definition: definition as CommandDefinition, name, options };
      this.byName.set(name, cmd);
      return cmd;
    });
    for (const c of this.commands) {
      // A path cannot be both a command and a group: Discord could not express it.
      for (let i = 1; i < c.definition.path.length; i++) {
        const prefix = c.definition.path.slice(0, i).join(' ');
        if (this.byName.has(prefix)) throw new Error(`"${prefix}" is both a command and a group`);
      }
    }
  }

  get(name: string): RegisteredCommand | undefined {
    return this.byName.get(name);
  }

  /** Subcommand names under a group prefix (e.g. `keys` → list, …). */
  childrenOf(prefix: readonly string[]): string[] {
    const out = new Set<string>();
    for (const c of this.commands) {
      const p = c.definition.path;
      if (p.length > prefix.length && prefix.every((w, i) => p[i] === w)) out.add(p[prefix.length]!);
    }
    return [...out];
  }
}
