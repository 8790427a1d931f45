/**
 * Anthropic secret shapes (admin-api.md §5: gitleaks/trufflehog patterns), Slack and Discord tokens, and
 * redaction. The dispatcher refuses a command that carries one (SECRET_IN_INPUT); the audit log and the logger
 * redact them as well, so that a key pasted into a command never reaches storage, logs or chat.
 */
export const ANTHROPIC_KEY_PATTERN = /sk-ant-(?:api03|admin01)-[A-Za-z0-9_-]{93}AA/g;
/** Looser fallback: any `sk-ant-<kind><nn>-…` token of some length (OAuth tokens, future key kinds). */
export const LOOSE_KEY_PATTERN = /sk-ant-[a-z]+\d\d-[A-Za-z0-9_-]{20,}/g;
/** Slack tokens: bot, user, app-level, legacy and refresh (`xoxe-`, also inside rotating `xoxe.xoxp-…`). */
const CHAT_TOKEN_PATTERN = /\bxox[abposre]-[A-Za-z0-9-]{10,}|\bxapp-[A-Za-z0-9-]{10,}/g;
/**
 * Discord bot tokens: base64 user id, `.`, timestamp, `.`, HMAC. Bounded by lookarounds rather than `\b`, which
 * would let the match stop short of a final `-` or `_` and leave part of the token behind.
 */
const DISCORD_TOKEN_PATTERN =
  /(?<![A-Za-z0-9_-])[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}(?![A-Za-z0-9_-])/g;

export const REDACTED = '[REDACTED]';

export function redactSecrets(text: string): string {
  return text
    .replace(ANTHROPIC_KEY_PATTERN, REDACTED)
    .replace(LOOSE_KEY_PATTERN, REDACTED)
    .replace(CHAT_TOKEN_PATTERN, REDACTED)
    .replace(DISCORD_TOKEN_PATTERN, REDACTED);
}

export function containsSecret(text: string): boolean {
  return redactSecrets(text) !== text;
}

export type SecretShape =
  | 'anthropic_api_key'
  | 'anthropic_admin_key'
  | 'anthropic_oauth_token'
  | 'anthropic_credential'
  | 'slack_token'
  | 'discord_token';

/** The first secret in the text and what kind it is (by the same shapes `redactSecrets` removes), or null. */
export function identifySecret(text: string): { shape: SecretShape; secret: string } | null {
  const anthropic =
    new RegExp(ANTHROPIC_KEY_PATTERN.source).exec(text) ?? new RegExp(LOOSE_KEY_PATTERN.source).exec(text);
  if (anthropic) {
    const secret = anthropic[0];
    const shape: SecretShape = secret.startsWith('sk-ant-api')
      ? 'anthropic_api_key'
      : secret.startsWith('sk-ant-admin')
        ? 'anthropic_admin_key'
        : /^sk-ant-o[ar]t/.test(secret)
          ? 'anthropic_oauth_token'
          : 'anthropic_credential';
    return { shape, secret };
  }
  const slack = new RegExp(CHAT_TOKEN_PATTERN.source).exec(text);
  if (slack) return { shape: 'slack_token', secret: slack[0] };
  const discord = new RegExp(DISCORD_TOKEN_PATTERN.source).exec(text);
  if (discord) return { shape: 'discord_token', secret: discord[0] };
  return null;
}

/** Deep copy of a JSON-like value with every string redacted. */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redactSecrets(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)])) as T;
  }
  return value;
}
