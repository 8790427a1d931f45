/**
 * The Discord AutoMod rule `/qm alerts automod` installs: a KEYWORD rule whose regular expressions are the three
 * shapes findSecrets looks for (detect.ts, the gitleaks shapes), written for Discord's Rust regex engine. They have
 * no token boundaries (Rust has no look-around, and the detector's boundaries — emphasis underscores, escapes such
 * as `\n` before a key — cannot be written in a few characters), so they block every message in which the detector
 * finds a key on one line, and a few more that merely contain a key's shape (a placeholder such as
 * `sk-ant-api03-xxx…xAA`, a key glued to other text): for blocking, that errs on the safe side. A key wrapped over
 * two lines is not blocked: the chat scanner catches it after it is posted, as it catches edits made before the rule
 * existed and servers where it is not installed.
 */
import type { AutoModRule } from '../ports/runtime.js';

export const AUTOMOD_RULE_NAME = 'Quartermaster: block Anthropic keys';

const BODY = '[A-Za-z0-9_-]';

/** Rust-flavoured patterns, one per secret kind (Discord: at most 10 patterns of at most 260 characters). */
export const AUTOMOD_PATTERNS: readonly string[] = [
  `sk-ant-api03-${BODY}{93}AA`,
  `sk-ant-admin01-${BODY}{93}AA`,
  `sk-ant-o[ar]t01-${BODY}{40}`,
];

/** Shown to the member whose message AutoMod blocked (Discord: at most 150 characters). */
export const AUTOMOD_BLOCK_MESSAGE =
  'This message holds an Anthropic API key and was not posted. Never share keys in chat; if it is real, ask an admin to disable it.';

export function automodRule(alertChannelId: string | null): AutoModRule {
  return {
    name: AUTOMOD_RULE_NAME,
    regexPatterns: [...AUTOMOD_PATTERNS],
    blockMessage: AUTOMOD_BLOCK_MESSAGE,
    alertChannelId,
  };
}
