/**
 * The Discord AutoMod rule `/qm alerts automod` installs: a KEYWORD rule whose regular expressions are the three
 * shapes findSecrets looks for (detect.ts), written for Discord's Rust regex engine (no look-around or
 * back-references, so a token boundary is a character outside [A-Za-z0-9_-], an escape or the start or end of the
 * message). AutoMod then blocks a key before anyone sees it; it also blocks placeholders (`sk-ant-api03-xxx…xAA`) the
 * detector leaves out. The chat scanner still catches what AutoMod cannot see (a key wrapped over two lines, edits
 * made before the rule existed, servers where it is not installed).
 */
import type { AutoModRule } from '../ports/runtime.js';

export const AUTOMOD_RULE_NAME = 'Quartermaster: block Anthropic keys';

// The detector's boundaries, as a superset (AutoMod blocking a little more is harmless; less is a key posted): a
// non-token character or the start, or an escape after an odd run of backslashes (\n \r \t \b \f, \xHH, \uHHHH;
// or %HH: JSON, a URL), then up to three underscores of emphasis (Discord's `_italic_`, `__underline__`) either side.
const BEFORE = String.raw`(?:^|[^A-Za-z0-9_-]|(?:^|[^\\])(?:\\\\)*\\(?:[nrtbf]|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4})|%[0-9A-Fa-f]{2})_{0,3}`;
const AFTER = '_{0,3}(?:[^A-Za-z0-9_-]|$)';
const BODY = '[A-Za-z0-9_-]';

/** Rust-flavoured patterns, one per secret kind (Discord: at most 10 patterns of at most 260 characters). */
export const AUTOMOD_PATTERNS: readonly string[] = [
  `${BEFORE}sk-ant-api03-${BODY}{93}AA${AFTER}`,
  `${BEFORE}sk-ant-admin01-${BODY}{93}AA${AFTER}`,
  `${BEFORE}sk-ant-o[ar]t01-${BODY}{40}`,
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
