/**
 * Finding Anthropic secrets in text (admin-api.md §5: the gitleaks and trufflehog patterns). A finding
 * carries only the key's hint — the first 16 characters, `...`, the last 4, exactly the API's
 * `partial_key_hint` — so it can be matched to its key id without the secret ever being stored or shown.
 *
 * Every shape starts with `sk-ant-`, so the text is searched for that prefix with `indexOf`, only the token at
 * each hit is examined, and newlines are counted only up to a finding. src/cli/scan-stream.ts does the same over
 * a file's bytes, read in chunks.
 */
export type SecretKind = 'anthropic_api_key' | 'anthropic_admin_key' | 'anthropic_oauth_token';

export interface SecretFinding {
  kind: SecretKind;
  /** 1-based line and column (in UTF-16 code units, as in the decoded text) of the first character. */
  line: number;
  column: number;
  /** `sk-ant-api03-R2D...igAA`: never more of the secret than this. */
  hint: string;
}

// The shapes, each a whole token: a token is a maximal run of [A-Za-z0-9_-] (gitleaks' unique-token boundary),
// so a key inside a longer token is not one. Keys: a fixed 93-character body ending in AA; OAuth tokens: 40 or
// more characters of body.
//   anthropic_api_key      sk-ant-api03-[A-Za-z0-9_-]{93}AA
//   anthropic_admin_key    sk-ant-admin01-[A-Za-z0-9_-]{93}AA
//   anthropic_oauth_token  sk-ant-o[ar]t01-[A-Za-z0-9_-]{40,}
/** Every shape starts with this. */
export const SECRET_PREFIX = 'sk-ant-';
const API_KEY = /^sk-ant-api03-[A-Za-z0-9_-]{93}AA$/;
const ADMIN_KEY = /^sk-ant-admin01-[A-Za-z0-9_-]{93}AA$/;
const OAUTH_TOKEN = /^sk-ant-o[ar]t01-[A-Za-z0-9_-]{40}/;
const API_KEY_LENGTH = 108;
const ADMIN_KEY_LENGTH = 110;
const OAUTH_TOKEN_MIN_LENGTH = 53;
/** A token longer than this is an OAuth token or nothing. */
export const LONGEST_KEY = ADMIN_KEY_LENGTH;

const TOKEN_CHARS = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-') TOKEN_CHARS[c.charCodeAt(0)] = 1;

/** Whether a character (or a byte of UTF-8) can be part of a token. */
export function isTokenChar(code: number): boolean {
  return code < 256 && TOKEN_CHARS[code] === 1;
}

/** Whether a token of this length may be a secret (cheaper than looking at it). */
export function maySecretLength(length: number): boolean {
  return length === API_KEY_LENGTH || length === ADMIN_KEY_LENGTH || length >= OAUTH_TOKEN_MIN_LENGTH;
}

/** The kind of a whole token that starts with SECRET_PREFIX, or null when it is not a secret. */
export function classifySecret(token: string): SecretKind | null {
  if (token.length === API_KEY_LENGTH && API_KEY.test(token)) return 'anthropic_api_key';
  if (token.length === ADMIN_KEY_LENGTH && ADMIN_KEY.test(token)) return 'anthropic_admin_key';
  if (OAUTH_TOKEN.test(token)) return 'anthropic_oauth_token';
  return null;
}

/** Whether a token cut short (it may go on) is already an OAuth token, whatever follows. */
export function isOAuthTokenSoFar(token: string): boolean {
  return OAUTH_TOKEN.test(token);
}

export function keyHint(secret: string): string {
  return `${secret.slice(0, 16)}...${secret.slice(-4)}`;
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
    if (i > 0 && isTokenChar(text.charCodeAt(i - 1))) {
      i = text.indexOf(SECRET_PREFIX, i + SECRET_PREFIX.length);
      continue;
    }
    let end = i + SECRET_PREFIX.length;
    while (end < length && isTokenChar(text.charCodeAt(end))) end++;
    const token = maySecretLength(end - i) ? text.slice(i, end) : '';
    const kind = token && classifySecret(token);
    if (kind) {
      if (newline === -2) newline = text.indexOf('\n');
      while (newline !== -1 && newline < i) {
        line++;
        lineStart = newline + 1;
        newline = text.indexOf('\n', lineStart);
      }
      out.push({ kind, line, column: i - lineStart + 1, hint: keyHint(token) });
    }
    // A prefix inside this token follows a token character: no secret starts before its end.
    i = text.indexOf(SECRET_PREFIX, end);
  }
  return out;
}
