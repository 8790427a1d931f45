/**
 * Finding Anthropic secrets in text (admin-api.md §5: the gitleaks and trufflehog patterns). A finding
 * carries only the key's hint — the first 16 characters, `...`, the last 4, exactly the API's
 * `partial_key_hint` — so it can be matched to its key id without the secret ever being stored or shown — and
 * where the secret is (line and column, and its UTF-16 offset and length, so a caller holding the text can
 * fingerprint the secret without it ever leaving memory: `secretAt`).
 *
 * Every shape starts with `sk-ant-`, so the text is searched for that prefix with `indexOf`, only the token at
 * each hit is examined, and newlines are counted only up to a finding. src/cli/scan-stream.ts applies the same
 * rules to a file's bytes, read in chunks.
 *
 * ## Where a secret is found (the contexts people paste keys in)
 * A secret is a whole token: a maximal run of [A-Za-z0-9_-] (gitleaks' unique-token boundary), so a key inside a
 * longer token is not one. Everything that surrounds a key in practice is made of other characters and needs
 * nothing special: fenced code blocks and inline code (backticks), URLs (`?key=…&`, `#…`, `https://user:KEY@host`),
 * Slack's `<url|label>` and `<mailto:…>` links, single, double and smart quotes, JSON (`"key":"…"`, `\"…\"`),
 * env and shell lines (`ANTHROPIC_API_KEY=…`, `export X="…"`), YAML (`key: …`), `*key*`, `**key**`, `~key~`,
 * Discord's `||spoiler||`, and HTML entities around the key (`&lt;…&gt;`, `&quot;…&quot;`: Slack's escaping).
 * Three contexts put token characters next to a key, and are recognised explicitly:
 * - Markdown emphasis with underscores, `_key_`, `__key__`, `___key___`: up to three underscores right before
 *   the prefix (themselves after a boundary) are emphasis only when the token ends with as many; they are not
 *   part of the secret. `_key` alone, `x_key_` or `_key` followed by a letter stay part of a longer token. (The
 *   other token character, `-`, is no emphasis marker anywhere, so `-key-` is a longer token.)
 * - Escapes that end in a letter or digit right before the prefix: `\n`, `\r`, `\t`, `\b`, `\f` (an odd run of
 *   backslashes: `\\n` is a backslash and a letter), `\uHHHH` and `\xHH` (JSON and source code: `"…\nsk-ant-…"`,
 *   Go's `\u003csk-ant-…\u003e`), and URL percent-encoding `%HH` (`?q=%22sk-ant-…%22`). After the key these
 *   start with `\` or `%`, which already end a token.
 * - A key wrapped over two lines: an API or admin key cut by one line break (`\n` or `\r\n`), the first part
 *   ending its line and the rest starting the next, is joined when the two make exactly one key (its fixed length
 *   and `AA` ending make that unambiguous). `index`/`length` then span the line break; `secretAt` removes it.
 *   OAuth tokens have no fixed length, so they are never joined: a first line with 40 characters of body is
 *   found on its own (its hint ends where the line does), one cut sooner is missed. Indented continuations, or
 *   more than one break, are not joined.
 * Escapes inside a key (`sk\u002dant…`, `&#45;`, `%2D`) are not decoded: no encoder escapes [A-Za-z0-9_-].
 * A key split across edits of a chat message is the adapter's business: each version of a message is scanned
 * whole, so a key that an edit completes is found in the edited text.
 *
 * ## What is not a secret (no alarm on near misses)
 * A key hint (`sk-ant-api03-R2D...igAA`: the token ends at `.`), a wrong length or ending, a longer token, a
 * placeholder — a body (the part after the prefix, without a key's final `AA`) that, leaving out `-` and `_`, is
 * one character repeated in either case (`xxxx…`, `XXXX-XXXX…`, `0000…`) or nothing, or with a character that is
 * not a token character (`sk-ant-api03-<your key>`, `sk-ant-api03-…`) — other vendors' keys (`sk-proj-…`, `sk-…`,
 * `xoxb-…`, `ghp_…`, `AKIA…`: no `sk-ant-` prefix) and prose (`sk-ant-` alone).
 */
export type SecretKind = 'anthropic_api_key' | 'anthropic_admin_key' | 'anthropic_oauth_token';

export interface SecretFinding {
  kind: SecretKind;
  /** 1-based line and column (in UTF-16 code units, as in the decoded text) of the first character. */
  line: number;
  column: number;
  /** `sk-ant-api03-R2D...igAA`: never more of the secret than this. */
  hint: string;
  /**
   * UTF-16 offset of the secret's first character in the text, and the length of its span (for a key wrapped
   * over two lines the span includes the line break: use `secretAt`).
   */
  index: number;
  length: number;
}

// The shapes, each a whole token. Keys: a fixed 93-character body ending in AA; OAuth tokens: 40 or more
// characters of body.
//   anthropic_api_key      sk-ant-api03-[A-Za-z0-9_-]{93}AA
//   anthropic_admin_key    sk-ant-admin01-[A-Za-z0-9_-]{93}AA
//   anthropic_oauth_token  sk-ant-o[ar]t01-[A-Za-z0-9_-]{40,}
/** Every shape starts with this. */
export const SECRET_PREFIX = 'sk-ant-';
const API_PREFIX = 'sk-ant-api03-';
const ADMIN_PREFIX = 'sk-ant-admin01-';
const OAUTH_PREFIX_LENGTH = 13;
const API_KEY = /^sk-ant-api03-[A-Za-z0-9_-]{93}AA$/;
const ADMIN_KEY = /^sk-ant-admin01-[A-Za-z0-9_-]{93}AA$/;
const OAUTH_TOKEN = /^sk-ant-o[ar]t01-[A-Za-z0-9_-]{40}/;
const OAUTH_START = /^sk-ant-o[ar]t01-/;
const API_KEY_LENGTH = 108;
const ADMIN_KEY_LENGTH = 110;
const OAUTH_TOKEN_MIN_LENGTH = 53;
/** At most this many underscores of Markdown emphasis surround a secret (`___bold italic___`). */
export const MAX_EMPHASIS = 3;
/** A token longer than this is an OAuth token or nothing (a key and its emphasis). */
export const LONGEST_KEY = ADMIN_KEY_LENGTH + MAX_EMPHASIS;
/** How far before a prefix `tokenStart` may look. */
export const LOOK_BEHIND = 16;

const TOKEN_CHARS = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-') TOKEN_CHARS[c.charCodeAt(0)] = 1;
const HEX = new Uint8Array(256);
for (const c of '0123456789ABCDEFabcdef') HEX[c.charCodeAt(0)] = 1;
const UNDERSCORE = 95;
const BACKSLASH = 92;
const PERCENT = 37;
const NEWLINE = 10;
const RETURN = 13;
/** Letters that end a one-letter escape: \n \r \t \b \f. */
const ESCAPE_LETTERS = new Set([110, 114, 116, 98, 102]);

/** Whether a character (or a byte of UTF-8) can be part of a token. */
export function isTokenChar(code: number): boolean {
  return code >= 0 && code < 256 && TOKEN_CHARS[code] === 1;
}

function isHex(code: number): boolean {
  return code >= 0 && code < 256 && HEX[code] === 1;
}

/** Whether a token of this length may be a secret (cheaper than looking at it). */
export function maySecretLength(length: number): boolean {
  return length === API_KEY_LENGTH || length === ADMIN_KEY_LENGTH || length >= OAUTH_TOKEN_MIN_LENGTH;
}

/** Whether a body is a placeholder: leaving out `-` and `_`, one character repeated (in either case) or nothing. */
export function isPlaceholderBody(body: string): boolean {
  let first = -1;
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i) | 0x20; // ASCII letters in lower case; '-' 45 and '_' 95 are 45 and 127
    if (c === 45 || c === 127) continue;
    if (first === -1) first = c;
    else if (c !== first) return false;
  }
  return true;
}

/** The kind of a whole token that starts with SECRET_PREFIX, or null when it is not a secret (or a placeholder). */
export function classifySecret(token: string): SecretKind | null {
  if (token.length === API_KEY_LENGTH && API_KEY.test(token)) {
    return isPlaceholderBody(token.slice(API_PREFIX.length, -2)) ? null : 'anthropic_api_key';
  }
  if (token.length === ADMIN_KEY_LENGTH && ADMIN_KEY.test(token)) {
    return isPlaceholderBody(token.slice(ADMIN_PREFIX.length, -2)) ? null : 'anthropic_admin_key';
  }
  if (OAUTH_TOKEN.test(token)) {
    return isPlaceholderBody(token.slice(OAUTH_PREFIX_LENGTH)) ? null : 'anthropic_oauth_token';
  }
  return null;
}

/** Whether a token starts like an OAuth token (which has no fixed length: any continuation may still make one). */
export function isOAuthStart(token: string): boolean {
  return OAUTH_START.test(token);
}

/**
 * The secret in a whole token that starts with SECRET_PREFIX after `lead` underscores of emphasis (tokenStart):
 * its kind and length, or null. The token must end with as many underscores, which are not part of the secret.
 */
export function classifyToken(token: string, lead: number): { kind: SecretKind; length: number } | null {
  let length = token.length;
  if (lead > 0) {
    for (let k = 1; k <= lead; k++) if (token.charCodeAt(length - k) !== UNDERSCORE) return null;
    length -= lead;
  }
  if (!maySecretLength(length)) return null;
  const kind = classifySecret(lead > 0 ? token.slice(0, length) : token);
  return kind ? { kind, length } : null;
}

/**
 * For the first part of a key wrapped over two lines (a whole token of `length` characters at `text[at]`, ending
 * its line, after `lead` underscores of emphasis): how many characters the next line's first token must have
 * (with the closing emphasis), or 0 when it cannot be the first part of a key.
 */
export function wrapNeeds(text: string, at: number, length: number, lead: number): number {
  const full = text.startsWith(API_PREFIX, at)
    ? API_KEY_LENGTH
    : text.startsWith(ADMIN_PREFIX, at)
      ? ADMIN_KEY_LENGTH
      : 0;
  return full > length ? full - length + lead : 0;
}

/** The kind of the key made of a wrapped key's two parts (the second a whole token, with `lead` underscores), or null. */
export function classifyWrapped(first: string, second: string, lead: number): SecretKind | null {
  if (second.length !== wrapNeeds(first, 0, first.length, lead)) return null;
  const found = classifyToken(first + second, lead);
  return found && found.kind !== 'anthropic_oauth_token' ? found.kind : null;
}

/** Whether an escape (`\n`, `\uHHHH`, `\xHH`, `%HH`) ends k characters before a prefix (`back(k)`: -1 before the text). */
function escapeEndsAt(back: (k: number) => number, k: number): boolean {
  const c = back(k);
  if (ESCAPE_LETTERS.has(c) && oddBackslashes(back, k + 1)) return true;
  if (!isHex(c)) return false;
  if (isHex(back(k + 1)) && back(k + 2) === PERCENT) return true;
  if (isHex(back(k + 1)) && back(k + 2) === 120 /* x */ && oddBackslashes(back, k + 3)) return true;
  return (
    isHex(back(k + 1)) &&
    isHex(back(k + 2)) &&
    isHex(back(k + 3)) &&
    back(k + 4) === 117 /* u */ &&
    oddBackslashes(back, k + 5)
  );
}

/** Whether back(k), back(k+1)… is an odd run of backslashes (looking no further than LOOK_BEHIND). */
function oddBackslashes(back: (k: number) => number, k: number): boolean {
  let n = 0;
  while (k + n <= LOOK_BEHIND && back(k + n) === BACKSLASH) n++;
  return n % 2 === 1;
}

/**
 * Whether a secret may start at a prefix: -1 when the prefix is inside a longer token, else how many
 * underscores of emphasis precede it (0 when none). `back(k)` is the code k characters (or bytes) before the
 * prefix, -1 before the start of the text; it is asked about at most LOOK_BEHIND characters back.
 */
export function tokenStart(back: (k: number) => number): number {
  let lead = 0;
  while (lead < MAX_EMPHASIS && back(lead + 1) === UNDERSCORE) lead++;
  const c = back(lead + 1);
  return !isTokenChar(c) || escapeEndsAt(back, lead + 1) ? lead : -1;
}

/** `back` for tokenStart at text[at] (made apart from findSecrets' loop, whose variables it would slow down). */
function lookBehind(text: string, at: number): (k: number) => number {
  return (k) => (at - k >= 0 ? text.charCodeAt(at - k) : -1);
}

export function keyHint(secret: string): string {
  return `${secret.slice(0, 16)}...${secret.slice(-4)}`;
}

/** The length of a line break made of these two characters (1 for `\n`, 2 for `\r\n`), else 0. */
export function lineBreakAt(c: number, next: number): number {
  return c === NEWLINE ? 1 : c === RETURN && next === NEWLINE ? 2 : 0;
}

/** The secret of a finding in the text it was found in (for a fingerprint; never to be stored or shown). */
export function secretAt(text: string, finding: Pick<SecretFinding, 'index' | 'length'>): string {
  return text.slice(finding.index, finding.index + finding.length).replace(/\r?\n/, '');
}

/**
 * The secret in the whole token text[i, end) (after `start` underscores of emphasis), or in it and the next line
 * when it is the first part of a wrapped key: its kind and length (the span, line break included), or null.
 */
function secretIn(text: string, i: number, end: number, start: number): { kind: SecretKind; length: number } | null {
  if (maySecretLength(end - i)) {
    const found = classifyToken(text.slice(i, end), start);
    if (found) return found;
  }
  const brk = lineBreakAt(text.charCodeAt(end), text.charCodeAt(end + 1));
  const needs = brk ? wrapNeeds(text, i, end - i, start) : 0;
  if (!needs) return null;
  let end2 = end + brk;
  while (end2 < text.length && end2 <= end + brk + needs && isTokenChar(text.charCodeAt(end2))) end2++;
  const kind = classifyWrapped(text.slice(i, end), text.slice(end + brk, end2), start);
  return kind ? { kind, length: end2 - start - i } : null;
}

/** The secrets in a text, in the order they appear. */
export function findSecrets(text: string): SecretFinding[] {
  const out: SecretFinding[] = [];
  const length = text.length;
  let line = 1;
  let lineStart = 0;
  let newline = -2; // the first newline not yet counted; -2 until looked up
  let i = text.indexOf(SECRET_PREFIX);
  while (i !== -1) {
    const start = i === 0 || !isTokenChar(text.charCodeAt(i - 1)) ? 0 : tokenStart(lookBehind(text, i));
    let end = i + SECRET_PREFIX.length;
    while (end < length && isTokenChar(text.charCodeAt(end))) end++;
    const found = start >= 0 ? secretIn(text, i, end, start) : null;
    const next = found && found.length > end - i ? i + found.length + start : end;
    if (found) {
      if (newline === -2) newline = text.indexOf('\n');
      while (newline !== -1 && newline < i) {
        line++;
        lineStart = newline + 1;
        newline = text.indexOf('\n', lineStart);
      }
      const index = i;
      const secretLength = found.length;
      out.push({
        kind: found.kind,
        line,
        column: i - lineStart + 1,
        hint: keyHint(secretAt(text, { index, length: secretLength })),
        index,
        length: secretLength,
      });
    }
    // A prefix inside this token follows a token character: no secret starts before its end.
    i = text.indexOf(SECRET_PREFIX, next);
  }
  return out;
}
