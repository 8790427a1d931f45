/** Test helpers for the secret detector: its specification as regular expressions, and generated text. */
import { keyHint } from '../../src/core/leaks/detect.js';

const T = '[A-Za-z0-9_-]';
/** Before a secret (and its emphasis): the start, a non-token character, or an escape (\n \r \t \b \f, \xHH, \uHHHH after an odd run of backslashes, or %HH). */
const BOUNDARY = String.raw`(?<=^|[^A-Za-z0-9_-]|(?:^|[^\\])(?:\\\\)*\\(?:[nrtbf]|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4})|%[0-9A-Fa-f]{2})`;
const SINGLE = new RegExp(
  `${BOUNDARY}(_{0,3})(sk-ant-(?:api03-${T}{93}AA|admin01-${T}{93}AA|o[ar]t01-${T}{40,}))\\1(?!${T})`,
  'g',
);
// A lookahead, so that a match does not take the text a later match starts in.
const WRAPPED = new RegExp(`${BOUNDARY}(_{0,3})(?=(sk-ant-(?:api03|admin01)-${T}*)(\\r?\\n)(${T}*))`, 'g');

/** A placeholder body: leaving out - and _, one character repeated in either case, or nothing. */
function placeholder(body: string): boolean {
  return new Set(body.replace(/[-_]/g, '').toLowerCase()).size <= 1;
}

function kindOf(secret: string) {
  if (/^sk-ant-api03-[A-Za-z0-9_-]{93}AA$/.test(secret)) {
    return placeholder(secret.slice(13, -2)) ? null : ('anthropic_api_key' as const);
  }
  if (/^sk-ant-admin01-[A-Za-z0-9_-]{93}AA$/.test(secret)) {
    return placeholder(secret.slice(15, -2)) ? null : ('anthropic_admin_key' as const);
  }
  if (/^sk-ant-o[ar]t01-[A-Za-z0-9_-]{40,}$/.test(secret)) {
    return placeholder(secret.slice(13)) ? null : ('anthropic_oauth_token' as const);
  }
  return null;
}

/**
 * The detector's rules (src/core/leaks/detect.ts) as regular expressions over the whole text: the shapes of
 * admin-api.md §5 (gitleaks) as whole tokens, after an escape or inside `_…_` emphasis too, placeholders left out,
 * and API and admin keys wrapped over one line break joined.
 */
export function byPatterns(text: string) {
  const found: { kind: NonNullable<ReturnType<typeof kindOf>>; secret: string; index: number; length: number }[] = [];
  for (const m of text.matchAll(SINGLE)) {
    const kind = kindOf(m[2]!);
    if (kind) found.push({ kind, secret: m[2]!, index: m.index + m[1]!.length, length: m[2]!.length });
  }
  for (const m of text.matchAll(WRAPPED)) {
    const lead = m[1]!.length;
    const [first, brk, second] = [m[2]!, m[3]!, m[4]!];
    if (!second.endsWith('_'.repeat(lead))) continue;
    const secret = first + second.slice(0, second.length - lead);
    const full = first.startsWith('sk-ant-api03-') ? 108 : 110;
    const kind = kindOf(secret);
    if (kind && secret.length === full && first.length < full) {
      found.push({ kind, secret, index: m.index + lead, length: first.length + brk.length + second.length - lead });
    }
  }
  found.sort((a, b) => a.index - b.index);
  // A token that a wrapped key took as its second part is not looked at again.
  const kept = found.filter((f, n) => n === 0 || f.index >= found[n - 1]!.index + found[n - 1]!.length);
  return kept.map(({ kind, secret, index, length }) => {
    const before = text.slice(0, index);
    const line = before.split('\n').length;
    return { kind, line, column: index - (before.lastIndexOf('\n') + 1) + 1, hint: keyHint(secret), index, length };
  });
}

/** Deterministic pseudo-random text made of keys, near misses and separators. */
export function mixedText(seed: number, pieces: number): string {
  let s = seed;
  const rnd = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
  const token = (n: number) => Array.from({ length: n }, () => chars[Math.floor(rnd() * 64)]).join('');
  const makers = [
    () => `sk-ant-api03-${token(93)}AA`,
    () => `sk-ant-admin01-${token(93)}AA`,
    () => `sk-ant-oat01-${token(40 + Math.floor(rnd() * 200))}`,
    () => `sk-ant-ort01-${token(38 + Math.floor(rnd() * 4))}`,
    () => `sk-ant-api03-${token(92 + Math.floor(rnd() * 3))}AA`,
    () => `sk-ant-admin01-${token(93)}A`,
    () => {
      const n = Math.floor(rnd() * 96);
      return `sk-ant-api03-${token(n)}${rnd() < 0.5 ? '\n' : '\r\n'}${token(93 - n)}AA`;
    },
    () => {
      // Emphasis: the same number of underscores on both sides, or not.
      const [open, close] = [1 + Math.floor(rnd() * 3), 1 + Math.floor(rnd() * 4)];
      const key = rnd() < 0.5 ? `sk-ant-api03-${token(93)}AA` : `sk-ant-oat01-${token(40 + Math.floor(rnd() * 20))}`;
      return `${'_'.repeat(open)}${key}${'_'.repeat(rnd() < 0.6 ? open : close)}`;
    },
    () => `sk-ant-api03-${'x'.repeat(93)}AA`,
    () => `sk-ant-oat01-${'X-'.repeat(20 + Math.floor(rnd() * 30))}`,
    () => 'sk-ant-',
    () => 'sk-ant-sk-ant-',
    () => '\n',
    () => '\r\n',
    () => ' ',
    () => 'é😀',
    () => ['_', '__', '___', '\\n', '\\\\n', '\\t', '%22', '\\u003c', '\\x3e', '-'][Math.floor(rnd() * 10)]!,
    () => token(Math.floor(rnd() * 12)),
  ];
  let text = '';
  for (let i = 0; i < pieces; i++) text += makers[Math.floor(rnd() * makers.length)]!();
  return text;
}
