/**
 * Finding Anthropic secrets in text (admin-api.md §5: the gitleaks and trufflehog patterns). A finding
 * carries only the key's hint — the first 16 characters, `...`, the last 4, exactly the API's
 * `partial_key_hint` — so it can be matched to its key id without the secret ever being stored or shown.
 */
export type SecretKind = 'anthropic_api_key' | 'anthropic_admin_key' | 'anthropic_oauth_token';

export interface SecretFinding {
  kind: SecretKind;
  /** 1-based line and column of the first character. */
  line: number;
  column: number;
  /** `sk-ant-api03-R2D...igAA`: never more of the secret than this. */
  hint: string;
}

// Keys: a fixed 93-character body ending in AA, not inside a longer token (gitleaks' unique-token boundary).
const PATTERNS: { kind: SecretKind; re: RegExp }[] = [
  { kind: 'anthropic_api_key', re: /(?<![A-Za-z0-9_-])sk-ant-api03-[A-Za-z0-9_-]{93}AA(?![A-Za-z0-9_-])/g },
  { kind: 'anthropic_admin_key', re: /(?<![A-Za-z0-9_-])sk-ant-admin01-[A-Za-z0-9_-]{93}AA(?![A-Za-z0-9_-])/g },
  { kind: 'anthropic_oauth_token', re: /(?<![A-Za-z0-9_-])sk-ant-o[ar]t01-[A-Za-z0-9_-]{40,}/g },
];

export function keyHint(secret: string): string {
  return `${secret.slice(0, 16)}...${secret.slice(-4)}`;
}

export function findSecrets(text: string): SecretFinding[] {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  const position = (offset: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - lineStarts[lo]! + 1 };
  };
  const out: SecretFinding[] = [];
  for (const { kind, re } of PATTERNS) {
    for (const m of text.matchAll(re)) out.push({ kind, ...position(m.index ?? 0), hint: keyHint(m[0]) });
  }
  return out.sort((a, b) => a.line - b.line || a.column - b.column);
}
