/**
 * Anthropic secret shapes (admin-api.md §5: gitleaks/trufflehog patterns) and redaction. Used by the audit
 * log and by the logger so that a key pasted into a command never reaches storage or logs.
 */
export const ANTHROPIC_KEY_PATTERN = /sk-ant-(?:api03|admin01)-[A-Za-z0-9_-]{93}AA/g;
/** Looser fallback: any `sk-ant-<kind><nn>-…` token of some length (OAuth tokens, future key kinds). */
export const LOOSE_KEY_PATTERN = /sk-ant-[a-z]+\d\d-[A-Za-z0-9_-]{20,}/g;
/** Slack and Discord credentials that could show up in text. */
const CHAT_TOKEN_PATTERN = /\bxox[abposr]-[A-Za-z0-9-]{10,}|\bxapp-[A-Za-z0-9-]{10,}/g;

export const REDACTED = '[REDACTED]';

export function redactSecrets(text: string): string {
  return text
    .replace(ANTHROPIC_KEY_PATTERN, REDACTED)
    .replace(LOOSE_KEY_PATTERN, REDACTED)
    .replace(CHAT_TOKEN_PATTERN, REDACTED);
}

export function containsSecret(text: string): boolean {
  return redactSecrets(text) !== text;
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
