/**
 * The text form of a command, as typed after `/qm` on Slack (and usable anywhere text is all we get):
 *   keys list workspace:prod status:active
 *   keys list prod active mine            (positional options, boolean flags by name)
 *   members invite email:"a@b.com"        (quotes for values with spaces)
 * Parsing is driven entirely by the registry; errors say exactly what was wrong and what would be right.
 */

import { closest } from '../suggest.js';
import type { CommandRegistry, RegisteredCommand } from './define.js';
import { md } from './reply.js';

/** A command word is a typo of another when a third of its letters (at least one) would fix it. */
const TYPO = { maxEdits: (word: string) => Math.max(1, Math.floor(word.length / 3)) };

export type ParsedText =
  | { ok: true; command: RegisteredCommand; raw: Record<string, string | boolean> }
  | { ok: false; attempted: string; message: string };

/** Split on whitespace, honouring "double", 'single' and Slack's “smart” quotes, also after `name:`. */
export function tokenize(text: string): string[] {
  const s = text.replace(/[\u201C\u201D\u201E]/g, '"').replace(/[\u2018\u2019]/g, "'");
  const tokens: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let started = false;
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
    } else if (/\s/.test(ch)) {
      if (started) tokens.push(cur);
      cur = '';
      started = false;
    } else {
      cur += ch;
      started = true;
    }
  }
  if (started) tokens.push(cur);
  return tokens;
}

export function parseCommandText(text: string, registry: CommandRegistry, prefix = '/qm'): ParsedText {
  const tokens = tokenize(text.trim());
  if (tokens.length === 0) {
    const help = registry.get('help');
    return help ? { ok: true, command: help, raw: {} } : { ok: false, attempted: '', message: 'No command given.' };
  }
  const words = tokens.map((t) => t.toLowerCase());
  let command: RegisteredCommand | undefined;
  let used = 0;
  for (let n = Math.min(3, words.length); n >= 1; n--) {
    const c = registry.get(words.slice(0, n).join(' '));
    if (c) {
      command = c;
      used = n;
      break;
    }
  }
  if (!command) return unknownCommand(words, registry, prefix);

  const raw: Record<string, string | boolean> = {};
  const positional = [...(command.definition.positional ?? [])];
  const usage = `${prefix} ${command.name}`;
  for (const token of tokens.slice(used)) {
    const named = /^-{0,2}([a-zA-Z][\w-]*)[:=]([\s\S]*)$/.exec(token);
    if (named) {
      const name = named[1]!.toLowerCase();
      const spec = command.options.find((o) => o.name.toLowerCase() === name);
      if (spec) {
        if (name in raw) return fail(usage, `${md.code(spec.name)} is given twice.`);
        raw[spec.name] = named[2]!;
        const i = positional.indexOf(spec.name);
        if (i >= 0) positional.splice(i, 1);
        continue;
      }
      // `name:value` with a name we do not know: most likely a typo of an option.
      if (!/^(https?|mailto)$/i.test(name)) {
        return fail(usage, `${md.code(named[1]!)} is not an option of ${md.code(usage)}. ${optionList(command)}`);
      }
    }
    const flag = command.options.find(
      (o) => o.kind === 'boolean' && o.name.toLowerCase() === token.replace(/^-{1,2}/, '').toLowerCase(),
    );
    if (flag) {
      raw[flag.name] = true;
      continue;
    }
    let next = positional.shift();
    while (next && command.definition.skipPositional?.(next, raw)) next = positional.shift();
    if (!next) {
      return fail(usage, `Unexpected ${md.code(token)}. ${optionList(command)}`);
    }
    raw[next] = token;
  }
  return { ok: true, command, raw };
}

function fail(usage: string, message: string): ParsedText {
  return { ok: false, attempted: usage, message };
}

export function optionList(command: RegisteredCommand): string {
  if (command.options.length === 0) return `${md.code(command.name)} takes no options.`;
  const opts = command.options.map((o) => md.code(o.kind === 'boolean' ? o.name : `${o.name}:…`)).join(', ');
  return `Options: ${opts}.`;
}

function unknownCommand(words: string[], registry: CommandRegistry, prefix: string): ParsedText {
  const first = words[0]!;
  const groupChildren = registry.childrenOf([first]);
  if (groupChildren.length > 0) {
    const sub = words[1];
    const list = groupChildren.map((c) => md.code(c)).join(', ');
    if (!sub || sub.includes(':')) {
      return fail(`${prefix} ${first}`, `${md.code(`${prefix} ${first}`)} needs a subcommand: ${list}.`);
    }
    const guess = closest(sub, groupChildren, TYPO);
    return fail(
      `${prefix} ${first} ${sub}`,
      `There is no ${md.code(`${prefix} ${first} ${sub}`)}.${guess ? ` Did you mean ${md.code(`${prefix} ${first} ${guess}`)}?` : ''} Subcommands of ${md.code(first)}: ${list}.`,
    );
  }
  const tops = registry.childrenOf([]);
  const guess = closest(first, tops, TYPO);
  return fail(
    `${prefix} ${first}`,
    `There is no ${md.code(`${prefix} ${first}`)}.${guess ? ` Did you mean ${md.code(`${prefix} ${guess}`)}?` : ''} Try ${md.code(`${prefix} help`)} to see what you can do.`,
  );
}
